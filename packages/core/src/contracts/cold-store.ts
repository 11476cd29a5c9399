import type { Readable } from 'node:stream';
import type { ChunkChecksums } from '../checksums/checksums.js';

/**
 * Whole-object checksums. `crc32c` is the big-endian 4-byte CRC32C in base64, the wire form
 * S3, GCS and Azure use; `sha256` is lowercase hex, the form `sha256sum` prints.
 */
export interface Checksums {
  crc32c: string;
  sha256: string;
}

/** What a backend knows about one stored object. Keys never include the backend's prefix. */
export interface ObjectDescription {
  key: string;
  size: number;
  /** The server's entity tag, where it has one. */
  etag?: string | undefined;
  lastModified?: Date | undefined;
  /**
   * Checksums of the whole object. `crc32c` is always present for objects this library wrote;
   * `sha256` is present wherever the backend can keep it (see `ColdStoreCapabilities`).
   */
  checksums: Partial<Checksums>;
  /** User metadata given at put time (lowercase keys). */
  metadata: Record<string, string>;
  /** Server-side encryption in force, where the backend reports it (`AES256`, `aws:kms`, …). */
  serverSideEncryption?: string | undefined;
  /**
   * The storage class (S3, GCS) or access tier (Azure) the object is stored in, where the
   * backend reports it; servers commonly leave out their default class.
   */
  storageClass?: string | undefined;
  /** Only on the result of a put given `crc32cChunkSize`: the CRC32C of every chunk. */
  chunks?: ChunkChecksums | undefined;
}

/** A body for `put`: a stream, bytes, or any async iterable of bytes. */
export type PutBody = Readable | Uint8Array | AsyncIterable<Uint8Array>;

export interface PutOptions {
  /** The body's length when the caller knows it; backends use it to choose single or multipart. */
  size?: number;
  /**
   * Checksums the caller already computed. The backend verifies the bytes it sends against them
   * and fails with `CHECKSUM_MISMATCH`, leaving nothing visible, when they differ.
   */
  checksums?: Partial<Checksums>;
  /** User metadata; keys are lowercase ASCII, values printable ASCII. */
  metadata?: Record<string, string>;
  /** Create only if absent; an existing object fails with `ALREADY_EXISTS`. */
  ifNoneMatch?: boolean;
  signal?: AbortSignal;
  /** Called with the running total of body bytes consumed. */
  onProgress?: (bytes: number) => void;
  /**
   * Also compute the CRC32C of each consecutive `crc32cChunkSize`-byte slice of the body (for
   * ranged reads verified chunk by chunk), in the same pass as the other checksums; the put's
   * result then carries them as `chunks`.
   */
  crc32cChunkSize?: number;
}

/** A byte range: `length` omitted means to the end; a range running past the end is truncated. */
export interface ByteRange {
  offset: number;
  length?: number;
}

export interface GetOptions {
  range?: ByteRange;
  signal?: AbortSignal;
}

export interface HeadOptions {
  signal?: AbortSignal;
}

export interface DeleteOptions {
  signal?: AbortSignal;
}

export interface ListOptions {
  /** Objects fetched per request underneath; lets tests force pagination. */
  pageSize?: number;
  signal?: AbortSignal;
}

/** What a backend can do, so suites and callers branch on capability, not on name. */
export interface ColdStoreCapabilities {
  /** Whether `head` returns `sha256` for objects stored without a caller-declared one. */
  readonly sha256OnHead: boolean;
  /** Whether the server itself verifies a CRC32C sent with the bytes. */
  readonly serverVerifiesCrc32c: boolean;
  /**
   * Longest key a caller may pass, in UTF-8 bytes: the server's limit on object names with the
   * store's prefix (and its `/`) already deducted, the same meaning on every backend.
   */
  readonly maxKeyBytes: number;
  /** Keys per batch-delete request (1: the backend deletes one key a request). */
  readonly maxDeleteBatch: number;
  /** Bytes per part of a multipart write; a body shorter than one part is one request. */
  readonly partSize?: number;
  /**
   * The most body bytes one put holds in memory: `partSize × (parts in flight + 1)` (the parts
   * being uploaded and the one being filled), whatever the object's size.
   */
  readonly memoryBoundBytes?: number;
  /**
   * How `ifNoneMatch` is enforced: by the server (`server`), by a head before the write on a
   * server found to ignore conditional writes (`head-check`, racy), or not yet known
   * (`unknown`, until the first create-only put has probed the server).
   */
  readonly conditionalWrites?: 'server' | 'head-check' | 'unknown';
  /**
   * Bodies of at least this many bytes are stored with fewer requests, and verified by the
   * server as they are created, when the caller declares both checksums up front: a caller
   * that can read its body twice (a local file) does better to hash it first. Absent when
   * declaring gains nothing.
   */
  readonly checksumsFirstFrom?: number;
}

/** Memory a body is read into (`ColdStore.readInto`). */
export interface BodySink {
  /** Where the next bytes go: a view that is not empty, owned by the sink. */
  space(): Uint8Array;
  /**
   * `bytes` bytes landed at the start of the last `space()`. A promise pauses the reading until it
   * settles (`space()` is not asked again before); a rejection ends the read with its error.
   */
  filled(bytes: number): void | Promise<void>;
}

/**
 * A cold object store. Every backend honours the same semantics (docs/ARCHITECTURE.md, "The
 * ColdStore contract"), proven by the shared contract suite in `@takhin/testkit` against a real
 * server.
 */
export interface ColdStore {
  /** The backend's name: `fs`, `s3`, `minio`, `gcs`, `azure`, or a third party's. */
  readonly backend: string;
  readonly capabilities: ColdStoreCapabilities;

  /**
   * Streams `body` to `key`. Memory stays bounded by part size × concurrency, never by the
   * object's size. A failed or aborted put leaves no visible object and no open multipart
   * upload. Resolves to the stored object's description, checksums included.
   */
  put(key: string, body: PutBody, options?: PutOptions): Promise<ObjectDescription>;

  /**
   * Opens the object (or a slice of it) as a stream. Missing key: `NOT_FOUND`; a range that
   * starts past the end: `INVALID_RANGE`.
   */
  get(key: string, options?: GetOptions): Promise<Readable>;

  /**
   * Optional: reads the object (or a slice of it) straight into memory the caller lends, with no
   * allocation per socket read; downloads use it when a store has it (docs/ARCHITECTURE.md,
   * "Plain reads"). The same checks and errors as `get`; an error the sink throws is passed on
   * as it is. Resolves once every byte is in the sink.
   */
  readInto?(key: string, sink: BodySink, options?: GetOptions): Promise<void>;

  /** The object's description, or `null` when it does not exist. */
  head(key: string, options?: HeadOptions): Promise<ObjectDescription | null>;

  /** Deletes one key or many; idempotent. Batches are split at `capabilities.maxDeleteBatch`. */
  delete(keys: string | readonly string[], options?: DeleteOptions): Promise<void>;

  /** Every object whose key starts with `prefix` (`''` for all), paginating underneath. */
  list(prefix: string, options?: ListOptions): AsyncIterable<ObjectDescription>;

  /**
   * Optional: ends the writes a crashed writer left open under this store (multipart uploads,
   * temp files) started more than `olderThanMs` ago; younger ones may be a live writer's.
   * Resolves to how many it ended. Tiered storage calls it at open and in every cycle.
   */
  abortStaleUploads?(olderThanMs: number): Promise<number>;

  /** Releases sockets and handles; the store is unusable afterwards. */
  close(): Promise<void>;
}
