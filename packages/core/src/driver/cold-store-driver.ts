import type { Readable } from 'node:stream';
import type { BodySink, ByteRange, Checksums, ObjectDescription } from '../contracts/cold-store.js';
import type { ColdStoreError } from '../errors/cold-store-error.js';

// The driver contract: what a backend supplies so that core can run every operation. A driver
// only speaks to its server. Core does everything that must be the same on every backend (key
// and option checks, hashing, single vs multipart, declared sizes and checksums, aborts,
// retries, metrics, range checks, batch splitting, conditional-write probing) and calls the
// driver for the requests. See docs/ARCHITECTURE.md, "The write path".
//
// Names: a `key` is what the caller passed (errors name it); a `name` is the object's full
// name on the server, the store's prefix included. Drivers never see a key they must check.

/** Sizes and counts that shape how core drives the server. */
export interface DriverLimits {
  /** Longest object name the server takes, in UTF-8 bytes, the prefix included. */
  readonly maxNameBytes: number;
  /** Bytes per part of a multipart write; a body shorter than one part is a single `putObject`. */
  readonly partSize: number;
  /**
   * Parts uploaded at once per put. Memory bound of a put: `partSize × (partsInFlight + 1)`
   * (the parts in flight and the one being filled).
   */
  readonly partsInFlight: number;
  /** The most parts one multipart write may have (S3: 10 000). */
  readonly maxParts?: number | undefined;
  /** Names per `deleteBatch` request; required when the driver has `deleteBatch`. */
  readonly maxDeleteBatch?: number | undefined;
  /**
   * How long a get's body may keep its reader waiting without a byte before core fails it
   * UNAVAILABLE (a server that stopped mid-body); `DEFAULT_IDLE_TIMEOUT_MS` when omitted.
   */
  readonly idleTimeoutMs?: number | undefined;
}

/** A silent server is given up on after this long without a byte (as the S3 and MinIO clients' socket timeouts). */
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

/** What the server does on its own, reported through the store's capabilities. */
export interface DriverFeatures {
  /** Whether `headObject` reports SHA-256 for objects stored without a declared one. */
  readonly sha256OnHead: boolean;
  /** Whether the server itself verifies the CRC32C sent with the bytes. */
  readonly serverVerifiesCrc32c: boolean;
  /**
   * `native` when create-only writes are enforced by something core trusts without a probe
   * (a filesystem's link(2)); otherwise core probes the server at first use.
   */
  readonly conditionalWrites: 'native' | 'probe';
  /**
   * Whether a multipart write costs the server less when both checksums are declared before
   * the first byte (GCS: they ride in the session's metadata, so one streamed request creates
   * the object, verified, with its SHA-256, where otherwise a finalize request and a metadata
   * update follow). Reported as the store's `checksumsFirstFrom`.
   */
  readonly checksumsFirst?: boolean;
}

/**
 * An object as the server describes it: an `ObjectDescription` named by its full object name
 * (prefix included) instead of the caller's key.
 */
export type StoredObject = Omit<ObjectDescription, 'key' | 'chunks'> & { name: string };

/** What a server answers a write with. */
export interface WriteReceipt {
  etag?: string | undefined;
  lastModified?: Date | undefined;
  serverSideEncryption?: string | undefined;
  storageClass?: string | undefined;
}

/** Fields every write request carries. */
interface WriteRequest {
  key: string;
  name: string;
  /** User metadata (checksums not included: the driver stores them its own way). */
  metadata: Record<string, string>;
  /** Create only if absent: the server must refuse with a precondition failure otherwise. */
  ifNoneMatch: boolean;
}

/** A whole object in one request. Never carries the caller's signal (see `putObject`). */
export interface ObjectWrite extends WriteRequest {
  body: Buffer;
  /** Both checksums of `body`, computed by core. */
  checksums: Checksums;
}

/** The start of a multipart write. */
export interface MultipartStart extends WriteRequest {
  /** Checksums the caller declared before the first byte (usually none). */
  declared: Partial<Checksums>;
  /**
   * The body's size when the caller declared it (a local file's, always): core fails the put
   * before its commit if the body turns out longer or shorter, so a driver may size requests
   * by it (GCS streams a session's bytes in one request).
   */
  size?: number | undefined;
}

/** An open multipart write. Drivers may extend it with their own state. */
export interface MultipartUpload {
  readonly key: string;
  readonly name: string;
  /** The server's upload id (S3), session URI (GCS), block id prefix (Azure), temp file (FS). */
  readonly id: string;
  /**
   * `false` when a part whose request failed cannot be sent again: its bytes went into one
   * request that carries many parts (a GCS session streaming to a declared size), whose earlier
   * parts are no longer in memory. The retry layer then does not resend `uploadPart`: the put
   * fails with the request's own error and its upload is aborted. Default: parts are resent.
   */
  readonly partsResendable?: boolean | undefined;
}

/** One part, numbered from 1, with its own CRC32C. */
export interface PartWrite<Upload extends MultipartUpload = MultipartUpload> {
  upload: Upload;
  number: number;
  body: Buffer;
  crc32c: string;
  /** Aborts this part's request (the put was aborted, or another part failed). */
  signal: AbortSignal;
}

/** A part the server stored. */
export interface UploadedPart {
  readonly number: number;
  readonly crc32c: string;
  readonly etag?: string | undefined;
  readonly size: number;
}

/** The end of a multipart write: every part stored, in order. */
export interface MultipartCompletion<Upload extends MultipartUpload = MultipartUpload> {
  upload: Upload;
  parts: readonly UploadedPart[];
  size: number;
  checksums: Checksums;
  metadata: Record<string, string>;
  ifNoneMatch: boolean;
}

/** A read of the object or a slice of it. */
export interface ObjectRead {
  key: string;
  name: string;
  range?: ByteRange | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * The server's answer to a read, body unread. Core checks it against the range asked for
 * (status, `Content-Range`), slices or refuses a wrong answer, and maps body errors.
 */
export interface OpenedObject {
  body: Readable;
  /** 200 for the whole object, 206 for a slice. */
  status: number;
  /** The `Content-Range` of a 206 (`bytes 0-9/100`), as sent. */
  contentRange?: string | undefined;
  /** Bytes in `body`, when the server said. */
  contentLength?: number | undefined;
}

/** A read as a plain-`http:` GET: its URL and headers, signed. */
export interface SignedRead {
  url: string;
  headers: Record<string, string>;
}

export interface ObjectRequest {
  key: string;
  name: string;
  signal?: AbortSignal | undefined;
}

export interface ListRequest {
  /** The caller's list prefix, for errors. */
  key: string;
  /** The full name prefix to list. */
  prefix: string;
  /** Where the previous page ended; `undefined` for the first page. */
  cursor?: string | undefined;
  pageSize?: number | undefined;
  signal?: AbortSignal | undefined;
}

/** One page of a listing, in the server's (byte) order. */
export interface ListPage {
  objects: StoredObject[];
  /** Pass back for the next page; `undefined` when this was the last. */
  cursor?: string | undefined;
}

export interface BatchDelete {
  names: readonly string[];
  signal?: AbortSignal | undefined;
}

/** A multipart write open on the server, for the repair of a crashed writer's leftovers. */
export interface OpenUpload extends MultipartUpload {
  /** When it started, where the server says. */
  startedAt?: Date | undefined;
}

/** What an error was about, for the driver's error mapper. */
export interface ErrorContext {
  /** The caller's key, when the request was about one. */
  key?: string | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * A backend's driver: the requests its server understands, and how to read its errors. Every
 * method may throw whatever its client throws; core passes each failure through `mapError`.
 */
export interface ColdStoreDriver<Upload extends MultipartUpload = MultipartUpload> {
  /** The backend's name (`s3`, `gcs`, …): in every error and metric. */
  readonly backend: string;
  readonly limits: DriverLimits;
  readonly features: DriverFeatures;

  /**
   * Stores a whole object in one request. No signal: once the bytes are on their way, the
   * object may land, and a put must not report an abort for an object that exists.
   */
  putObject(write: ObjectWrite): Promise<WriteReceipt>;
  /** Opens a multipart write (no signal, for the same reason: an orphaned upload). */
  createMultipart(start: MultipartStart): Promise<Upload>;
  /** Stores one part. Parts may be sent concurrently, up to `limits.partsInFlight`. */
  uploadPart(part: PartWrite<Upload>): Promise<UploadedPart>;
  /** Makes the object visible from its parts (no signal: a commit is never abandoned). */
  completeMultipart(completion: MultipartCompletion<Upload>): Promise<WriteReceipt>;
  /** Discards an open multipart write; one the server no longer knows is not an error. */
  abortMultipart(upload: MultipartUpload): Promise<void>;

  /** Opens the object, or asks for a slice of it. A missing object throws (NOT_FOUND). */
  getObject(read: ObjectRead): Promise<OpenedObject>;
  /**
   * The same read as a signed GET that core sends itself over its own lean client, which reads
   * the body straight into a download's buffers (docs/ARCHITECTURE.md, "Plain reads"); or
   * `undefined` when this read cannot be one. Touches no network. Any answer but the one asked
   * for is not interpreted: core sends `getObject` instead, so its errors stay the driver's.
   */
  signRead?(read: ObjectRead): Promise<SignedRead | undefined>;
  /**
   * The same read, done by the driver itself straight into `sink`'s memory: for a server that is
   * a local filesystem. Same errors as `getObject`; an error `sink` throws must reach the caller
   * as it is. Preferred over `signRead`.
   */
  readInto?(read: ObjectRead, sink: BodySink): Promise<void>;
  /** The object's description, or `null` when there is none. */
  headObject(request: ObjectRequest): Promise<StoredObject | null>;
  /** One page of the objects whose names start with `prefix`. */
  listPage(request: ListRequest): Promise<ListPage>;
  /** Deletes one object; a missing one is not an error. */
  deleteObject(request: ObjectRequest): Promise<void>;
  /** Deletes up to `limits.maxDeleteBatch` objects in one request; missing ones are fine. */
  deleteBatch?(request: BatchDelete): Promise<void>;

  /**
   * Throws the driver's NOT_FOUND naming the bucket or container (and its config key) when it
   * does not exist. A HEAD 404 cannot tell a missing object from a missing bucket; core asks
   * this once, after its first `null` head, so a wrong config is named, not read as "absent".
   */
  assertContainer?(signal?: AbortSignal): Promise<void>;
  /** Multipart writes open under `prefix` (full name prefix), for `abortStaleUploads`. */
  listOpenUploads?(prefix: string): Promise<OpenUpload[]>;

  /** Maps anything a method threw to the contract's error (keeping it as `cause`). */
  mapError(error: unknown, context: ErrorContext): ColdStoreError;
  /** Releases clients and sockets. */
  close(): Promise<void>;
}
