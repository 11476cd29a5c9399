import type { Readable } from 'node:stream';
import { Storage, type Bucket, type File } from '@google-cloud/storage';
import {
  assertDeclaredChecksums,
  assertRangeShape,
  assertValidKey,
  assertValidMetadata,
  assertValidPrefix,
  CHECKSUM_METADATA_KEYS,
  checksumMismatch,
  ColdStoreError,
  containerMissing,
  DEFAULT_MAX_KEY_BYTES,
  httpRangeHeader,
  invalidRange,
  isColdStoreError,
  joinKey,
  routePutBody,
  stripPrefix,
  throwIfAborted,
  withChecksumMetadata,
  type Checksums,
  type ColdStore,
  type ColdStoreCapabilities,
  type DeleteOptions,
  type GetOptions,
  type HeadOptions,
  type ListOptions,
  type ObjectDescription,
  type PutBody,
  type PutOptions,
  type StreamedDigest,
} from '@takhin/core';
import { chunkSizeBytes, type GcsConfig } from './config.js';
import { BACKEND, toColdStoreError } from './errors.js';
import { GcsHttp, readJson } from './gcs-http.js';
import { describeObject, type ObjectResource } from './object-resource.js';
import { ResumableUpload } from './resumable-upload.js';
import { uploadSimple } from './simple-upload.js';

const DEFAULT_ENDPOINT = 'https://storage.googleapis.com';
/** Single deletes in flight at once: GCS has no multi-object delete in its JSON API. */
const DELETE_CONCURRENCY = 16;
const CONTENT_TYPE = 'application/octet-stream';

/**
 * A ColdStore on Google Cloud Storage. Bodies shorter than one chunk go in one multipart
 * request, longer ones through a resumable session one chunk at a time (memory: two chunks
 * per put). Every upload carries our native CRC32C so the server verifies it; SHA-256 rides
 * in the object metadata. The SDK serves metadata calls and auth; the byte paths are our own
 * requests (see GcsHttp).
 */
export class GcsColdStore implements ColdStore {
  readonly backend = BACKEND;
  readonly capabilities: ColdStoreCapabilities;
  readonly storage: Storage;
  readonly #bucket: Bucket;
  readonly #http: GcsHttp;
  readonly #prefix: string;
  readonly #maxKeyBytes: number;
  readonly #chunkSize: number;
  /** Resumable sessions started and neither finished nor cancelled (see `openUploadSessions`). */
  readonly #openSessions = new Set<string>();
  #bucketSeen = false;

  constructor(readonly config: GcsConfig) {
    this.storage = new Storage({
      projectId: config.projectId,
      keyFilename: config.keyFilename,
      apiEndpoint: config.endpoint,
      // Retries happen once, in core's RetryingColdStore.
      retryOptions: { autoRetry: false, maxRetries: 0 },
    });
    this.#bucket = this.storage.bucket(config.bucket);
    // An emulator takes no credentials, as the SDK itself assumes for a custom endpoint.
    const authorize = config.endpoint ? undefined : () => this.storage.authClient.getRequestHeaders();
    this.#http = new GcsHttp((config.endpoint ?? DEFAULT_ENDPOINT).replace(/\/+$/, ''), authorize);
    this.#prefix = config.prefix;
    this.#maxKeyBytes = DEFAULT_MAX_KEY_BYTES - (this.#prefix === '' ? 0 : Buffer.byteLength(this.#prefix) + 1);
    this.#chunkSize = chunkSizeBytes(config);
    this.capabilities = { sha256OnHead: true, serverVerifiesCrc32c: true, maxKeyBytes: this.#maxKeyBytes, maxDeleteBatch: 1 };
  }

  /** The most body bytes one put holds: the chunk being sent and the one read ahead. */
  get memoryBoundBytes(): number {
    return 2 * this.#chunkSize;
  }

  /** Bytes per resumable chunk. */
  get chunkSize(): number {
    return this.#chunkSize;
  }

  /**
   * Session URIs of resumable uploads this store opened and has not finished or cancelled.
   * GCS cannot list sessions (they expire after a week and are never visible as objects),
   * so the store's own ledger is the honest answer; a failed cancel stays listed.
   */
  openUploadSessions(): string[] {
    return [...this.#openSessions];
  }

  /** Streams `body` to `key`; see ColdStore.put. */
  async put(key: string, body: PutBody, options: PutOptions = {}): Promise<ObjectDescription> {
    const name = this.#name(key);
    assertValidMetadata(BACKEND, options.metadata);
    const { signal } = options;
    throwIfAborted(signal, BACKEND, key);
    try {
      const stored = await routePutBody(body, { partSize: this.#chunkSize, signal, onProgress: options.onProgress }, {
        single: (bytes, checksums) => this.#putSimple(key, name, bytes, checksums, options),
        multipart: (chunks, digest) => this.#putResumable(key, name, chunks, digest, options),
      });
      return describeObject(this.#prefix, stored);
    } catch (error) {
      throw (await this.#failure(error, key, signal)).error;
    }
  }

  /** Opens the object, or a slice of it, as a stream; see ColdStore.get. */
  async get(key: string, options: GetOptions = {}): Promise<Readable> {
    const name = this.#name(key);
    const { range, signal } = options;
    if (range) assertRangeShape(BACKEND, key, range);
    throwIfAborted(signal, BACKEND, key);
    try {
      const headers: Record<string, string> = { 'accept-encoding': 'identity' };
      if (range) headers.range = httpRangeHeader(range);
      const response = await this.#http.request(this.#http.objectUrl(this.config.bucket, name, { alt: 'media' }), { headers, signal }, [200, 206]);
      if (range && response.statusCode === 200 && range.offset > 0) {
        response.destroy();
        throw invalidRange(BACKEND, key, 'the server ignored the range');
      }
      return response;
    } catch (error) {
      throw (await this.#failure(error, key, signal)).error;
    }
  }

  /** The object's description, or `null`; see ColdStore.head. */
  async head(key: string, options: HeadOptions = {}): Promise<ObjectDescription | null> {
    const file = this.#bucket.file(this.#name(key));
    throwIfAborted(options.signal, BACKEND, key);
    try {
      const [metadata] = await file.getMetadata();
      return describeObject(this.#prefix, metadata as ObjectResource);
    } catch (error) {
      const failure = await this.#failure(error, key, options.signal);
      if (failure.objectMissing) return null;
      throw failure.error;
    }
  }

  /** Deletes keys with bounded concurrency; missing keys are fine; see ColdStore.delete. */
  async delete(keys: string | readonly string[], options: DeleteOptions = {}): Promise<void> {
    const files = (typeof keys === 'string' ? [keys] : keys).map((key) => ({ key, file: this.#bucket.file(this.#name(key)) }));
    throwIfAborted(options.signal, BACKEND, typeof keys === 'string' ? keys : undefined);
    let next = 0;
    const lane = async () => {
      while (next < files.length) {
        const { key, file } = files[next++]!;
        throwIfAborted(options.signal, BACKEND, key);
        await this.#deleteOne(key, file, options.signal);
      }
    };
    await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, files.length) }, lane));
  }

  /** Every object under `prefix`, a page at a time; see ColdStore.list. */
  async *list(prefix: string, options: ListOptions = {}): AsyncIterable<ObjectDescription> {
    assertValidPrefix(BACKEND, prefix, this.#maxKeyBytes);
    const fullPrefix = this.#prefix === '' ? prefix : `${this.#prefix}/${prefix}`;
    let pageToken: string | undefined;
    do {
      throwIfAborted(options.signal, BACKEND, prefix);
      let files: File[];
      try {
        const [page, nextQuery] = await this.#bucket.getFiles({ prefix: fullPrefix, maxResults: options.pageSize, pageToken, autoPaginate: false });
        files = page;
        pageToken = (nextQuery as { pageToken?: string } | null)?.pageToken;
      } catch (error) {
        throw (await this.#failure(error, undefined, options.signal)).error;
      }
      for (const file of files) {
        if (stripPrefix(this.#prefix, file.name) !== undefined) yield describeObject(this.#prefix, file.metadata as ObjectResource);
      }
    } while (pageToken);
  }

  /** Releases the byte paths' keep-alive sockets (the SDK holds none between calls). */
  async close(): Promise<void> {
    this.#http.close();
  }

  async #putSimple(key: string, name: string, bytes: Buffer, actual: Checksums, options: PutOptions): Promise<ObjectResource> {
    assertDeclaredChecksums(BACKEND, key, options.checksums, actual);
    return uploadSimple(this.#http, {
      bucket: this.config.bucket,
      resource: { name, contentType: CONTENT_TYPE, crc32c: actual.crc32c, metadata: withChecksumMetadata(options.metadata, { sha256: actual.sha256 }) },
      bytes,
      ifGenerationMatch: options.ifNoneMatch ? 0 : undefined,
      signal: options.signal,
    });
  }

  async #putResumable(key: string, name: string, chunks: AsyncIterable<Buffer>, digest: StreamedDigest, options: PutOptions): Promise<ObjectResource> {
    const { signal, checksums: declared } = options;
    const session = await ResumableUpload.start(this.#http, {
      bucket: this.config.bucket,
      // A declared crc32c is checked by GCS at finalize too; SHA-256, unknown yet, is added after.
      resource: { name, contentType: CONTENT_TYPE, crc32c: declared?.crc32c, metadata: withChecksumMetadata(options.metadata, { sha256: declared?.sha256 }) },
      ifGenerationMatch: options.ifNoneMatch ? 0 : undefined,
      signal,
    });
    this.#openSessions.add(session.uri);
    let created: ObjectResource;
    try {
      // Each chunk is sent once the next has been read: the last one must go with the total size.
      let last: Buffer | undefined;
      for await (const chunk of chunks) {
        if (last) await session.write(last, signal);
        last = chunk;
      }
      throwIfAborted(signal, BACKEND, key);
      const actual = digest.checksums;
      assertDeclaredChecksums(BACKEND, key, declared, actual);
      created = await session.finish(last!, actual.crc32c, signal); // multipart bodies hold at least one chunk
      this.#openSessions.delete(session.uri);
    } catch (error) {
      if (await session.cancel()) this.#openSessions.delete(session.uri);
      throw error;
    }
    return this.#completeResumable(key, name, created, digest.checksums, options);
  }

  /**
   * Checks the server's CRC32C of what it assembled against ours (an emulator may not have
   * checked `x-goog-hash`), removing the object on a mismatch, then records SHA-256.
   */
  async #completeResumable(key: string, name: string, created: ObjectResource, actual: Checksums, options: PutOptions): Promise<ObjectResource> {
    const generation = String(created.generation);
    if (created.crc32c !== undefined && created.crc32c !== actual.crc32c) {
      await this.#bucket.file(name).delete({ ifGenerationMatch: generation }).catch(() => {});
      throw checksumMismatch(BACKEND, key, `the server stored crc32c ${created.crc32c}, the bytes sent have ${actual.crc32c}`);
    }
    if (created.metadata?.[CHECKSUM_METADATA_KEYS.sha256] === actual.sha256) return created;
    const url = this.#http.objectUrl(this.config.bucket, name, { ifGenerationMatch: generation, ifMetagenerationMatch: created.metageneration === undefined ? undefined : String(created.metageneration) });
    const response = await this.#http.request(
      url,
      { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ metadata: withChecksumMetadata(options.metadata, actual) }), signal: options.signal },
      [200],
    );
    return readJson<ObjectResource>(response);
  }

  async #deleteOne(key: string, file: File, signal: AbortSignal | undefined): Promise<void> {
    try {
      await file.delete();
    } catch (error) {
      const failure = await this.#failure(error, key, signal);
      if (!failure.objectMissing) throw failure.error;
    }
  }

  /** The object name for `key` under the prefix; `INVALID_KEY` before any request. */
  #name(key: string): string {
    assertValidKey(BACKEND, key, this.#maxKeyBytes);
    return joinKey(this.#prefix, key);
  }

  /**
   * Maps an error to the contract's codes. A 404 is the object's only once the bucket is
   * known to exist (checked on the first 404, then remembered); otherwise it names the bucket.
   */
  async #failure(error: unknown, key: string | undefined, signal: AbortSignal | undefined): Promise<{ error: unknown; objectMissing: boolean }> {
    const mapped = toColdStoreError(error, key, signal);
    if (error instanceof ColdStoreError || !isColdStoreError(mapped, 'NOT_FOUND')) return { error: mapped, objectMissing: false };
    if (this.#bucketSeen || (await this.#bucketExists())) return { error: mapped, objectMissing: true };
    return { error: containerMissing(BACKEND, 'bucket', this.config.bucket, key, error), objectMissing: false };
  }

  async #bucketExists(): Promise<boolean> {
    try {
      [this.#bucketSeen] = await this.#bucket.exists();
    } catch {
      return true; // cannot tell; keep blaming the object
    }
    return this.#bucketSeen;
  }
}
