import type { Agent, IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { Client } from 'minio';
import {
  assertDeclaredChecksums,
  assertRangeShape,
  assertValidKey,
  assertValidMetadata,
  assertValidPrefix,
  containerMissing,
  crc32cOf,
  DEFAULT_MAX_KEY_BYTES,
  httpRangeHeader,
  invalidRange,
  joinKey,
  PendingAborts,
  routePutBody,
  splitChecksumMetadata,
  stripPrefix,
  throwIfAborted,
  uploadBoundedParts,
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
import type { MinioConfig } from './config.js';
import { BACKEND, toColdStoreError } from './errors.js';
import { createMinioClient, withSignal } from './minio-client.js';
import { completeMultipartBody, completeMultipartError, type UploadedPart } from './complete-multipart.js';

const MIB = 1024 * 1024;
/** The S3 protocol numbers parts 1 to 10 000; larger objects need a larger `partSizeMb`. */
const MAX_PARTS = 10_000;
const MAX_DELETE_BATCH = 1000;
const META_PREFIX = 'x-amz-meta-';

/**
 * A ColdStore on MinIO through its own client (`minio`). The client's high-level `putObject`
 * can neither send per-part checksums nor a conditional complete, so writes go through its
 * lower-level calls with our own headers: bodies shorter than one part in a single PUT, longer
 * ones in a multipart upload with at most `queueSize` parts in flight (memory ≤ partSizeMb ×
 * queueSize MiB). Every request carries its CRC32C for MinIO to check, and multipart uploads
 * use the full-object CRC32C, so `head` reports the whole object's CRC32C either way. SHA-256
 * is kept in metadata when known before the first byte is sent; hence `sha256OnHead: false`.
 */
export class MinioColdStore implements ColdStore {
  readonly backend = BACKEND;
  readonly capabilities: ColdStoreCapabilities = {
    sha256OnHead: false,
    serverVerifiesCrc32c: true,
    maxKeyBytes: DEFAULT_MAX_KEY_BYTES,
    maxDeleteBatch: MAX_DELETE_BATCH,
  };
  /** Bytes per multipart part. */
  readonly partSize: number;
  /** Parts in flight per put. */
  readonly queueSize: number;

  readonly #client: Client;
  readonly #agent: Agent;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #maxKeyBytes: number;
  readonly #sseHeaders: Record<string, string>;
  /** Uploads whose abort failed (the server was gone), by upload id → full key. */
  readonly #pendingAborts = new PendingAborts({
    abort: (fullKey, uploadId) => withSignal(undefined, () => this.#client.abortMultipartUpload(this.#bucket, fullKey, uploadId)),
    isGone: (error) => (error as { code?: unknown }).code === 'NoSuchUpload',
  });
  #bucketSeen = false;

  constructor(readonly config: MinioConfig) {
    ({ client: this.#client, agent: this.#agent } = createMinioClient(config));
    this.#bucket = config.bucket;
    this.#prefix = config.prefix;
    this.#maxKeyBytes = this.capabilities.maxKeyBytes - (this.#prefix === '' ? 0 : Buffer.byteLength(this.#prefix) + 1);
    this.partSize = config.partSizeMb * MIB;
    this.queueSize = config.queueSize;
    this.#sseHeaders = {
      ...(config.sse !== undefined && { 'x-amz-server-side-encryption': config.sse }),
      ...(config.kmsKeyId !== undefined && { 'x-amz-server-side-encryption-aws-kms-key-id': config.kmsKeyId }),
    };
  }

  /**
   * Streams `body` to `key`: one PUT below a part, a bounded multipart upload above.
   * Checksums are computed while streaming; declared ones that differ fail with
   * `CHECKSUM_MISMATCH` before anything becomes visible. A failed or aborted multipart upload
   * is aborted on the server (or remembered and aborted later if the server is gone).
   */
  async put(key: string, body: PutBody, options: PutOptions = {}): Promise<ObjectDescription> {
    this.#assertKey(key);
    assertValidMetadata(BACKEND, options.metadata);
    throwIfAborted(options.signal, BACKEND, key);
    await this.#pendingAborts.retry();

    try {
      return await routePutBody(body, { partSize: this.partSize, signal: options.signal, onProgress: options.onProgress }, {
        single: (bytes, checksums) => this.#putSingle(key, bytes, checksums, options),
        multipart: (parts, digest) => this.#putMultipart(key, parts, digest, options),
      });
    } catch (error) {
      throw toColdStoreError(error, { bucket: this.#bucket, key, signal: options.signal });
    }
  }

  /**
   * Opens the object, or a slice of it, as a stream. A range starting at or past the end is
   * `INVALID_RANGE` (MinIO answers 416); one running past the end is truncated.
   */
  async get(key: string, options: GetOptions = {}): Promise<Readable> {
    this.#assertKey(key);
    const { range, signal } = options;
    if (range) assertRangeShape(BACKEND, key, range);
    throwIfAborted(signal, BACKEND, key);
    try {
      const response = await withSignal(signal, () =>
        this.#client.makeRequestAsync(
          { method: 'GET', bucketName: this.#bucket, objectName: this.#fullKey(key), headers: range ? { range: httpRangeHeader(range) } : {} },
          '',
          range ? [200, 206] : [200],
        ),
      );
      // Some servers answer a range over an empty object with the whole (empty) object.
      if (range && response.statusCode === 200 && Number(response.headers['content-length']) === 0) {
        response.destroy();
        throw invalidRange(BACKEND, key, `offset ${range.offset} is at or past the end of a 0-byte object`);
      }
      return response;
    } catch (error) {
      throw toColdStoreError(error, { bucket: this.#bucket, key, signal });
    }
  }

  /** The object's description (checksums included), or `null` when it does not exist. */
  async head(key: string, options: HeadOptions = {}): Promise<ObjectDescription | null> {
    this.#assertKey(key);
    throwIfAborted(options.signal, BACKEND, key);
    try {
      const response = await withSignal(options.signal, () =>
        this.#client.makeRequestAsyncOmit({
          method: 'HEAD',
          bucketName: this.#bucket,
          objectName: this.#fullKey(key),
          headers: { 'x-amz-checksum-mode': 'ENABLED' },
        }),
      );
      return describeHead(key, response.headers);
    } catch (error) {
      const mapped = toColdStoreError(error, { bucket: this.#bucket, key, signal: options.signal });
      if (mapped.code !== 'NOT_FOUND') throw mapped;
      // A HEAD 404 has no body, so a missing bucket looks like a missing object: ask once.
      await this.#assertBucketExists(key, options.signal);
      return null;
    }
  }

  /** Deletes one key or many (DeleteObjects, 1000 a request); missing keys are not errors. */
  async delete(keys: string | readonly string[], options: DeleteOptions = {}): Promise<void> {
    const list = typeof keys === 'string' ? [keys] : [...keys];
    for (const key of list) this.#assertKey(key);
    throwIfAborted(options.signal, BACKEND, list.length === 1 ? list[0] : undefined);
    if (list.length === 1) {
      const key = list[0]!;
      try {
        await withSignal(options.signal, () => this.#client.removeObject(this.#bucket, this.#fullKey(key)));
      } catch (error) {
        throw toColdStoreError(error, { bucket: this.#bucket, key, signal: options.signal });
      }
      return;
    }
    for (let start = 0; start < list.length; start += MAX_DELETE_BATCH) {
      const batch = list.slice(start, start + MAX_DELETE_BATCH).map((key) => this.#fullKey(key));
      let errors: { Code?: string; Message?: string; Key?: string }[];
      try {
        // One batch per call: the client would send several batches at once.
        errors = (await withSignal(options.signal, () => this.#client.removeObjects(this.#bucket, batch))) as typeof errors;
      } catch (error) {
        throw toColdStoreError(error, { bucket: this.#bucket, signal: options.signal });
      }
      const failed = errors.find((entry) => entry.Code !== 'NoSuchKey');
      if (failed) {
        const key = failed.Key === undefined ? undefined : stripPrefix(this.#prefix, String(failed.Key));
        throw toColdStoreError(Object.assign(new Error(failed.Message ?? failed.Code), { code: failed.Code }), { bucket: this.#bucket, key });
      }
    }
  }

  /**
   * Every object under `prefix`, one ListObjectsV2 page at a time. Listings carry no user
   * metadata or checksums (the protocol does not return them); `head` an object for those.
   */
  async *list(prefix: string, options: ListOptions = {}): AsyncIterable<ObjectDescription> {
    assertValidPrefix(BACKEND, prefix, this.#maxKeyBytes);
    const { signal, pageSize } = options;
    let token = '';
    do {
      throwIfAborted(signal, BACKEND);
      let page;
      try {
        page = await withSignal(signal, () =>
          this.#client.listObjectsV2Query(this.#bucket, this.#fullKey(prefix), token, '', pageSize ?? 1000, ''),
        );
      } catch (error) {
        throw toColdStoreError(error, { bucket: this.#bucket, key: prefix, signal });
      }
      for (const object of page.objects) {
        if (object.name === undefined) continue;
        const key = stripPrefix(this.#prefix, String(object.name));
        if (key === undefined || key === '') continue;
        yield { key, size: Number(object.size), etag: object.etag, lastModified: object.lastModified, checksums: {}, metadata: {} };
      }
      token = page.isTruncated ? page.nextContinuationToken : '';
    } while (token !== '');
  }

  /**
   * Aborts multipart uploads under this store's prefix started more than `olderThanMs` ago,
   * plus any this store failed to abort. For start-up repair after a crash of this process
   * (an upload it was writing stays open on the server); returns how many it aborted.
   * Uploads younger than `olderThanMs` may belong to a live writer and are left alone.
   */
  async abortStaleUploads(olderThanMs: number): Promise<number> {
    let aborted = await this.#pendingAborts.retry();
    const cutoff = Date.now() - olderThanMs;
    const prefix = this.#fullKey('');
    let keyMarker = '';
    let uploadIdMarker = '';
    try {
      do {
        // No prefix: MinIO lists uploads only for a whole bucket or one exact key.
        const page = await this.#client.listIncompleteUploadsQuery(this.#bucket, '', keyMarker, uploadIdMarker, '');
        for (const upload of page.uploads) {
          if (!upload.key.startsWith(prefix) || upload.initiated.getTime() > cutoff) continue;
          await this.#client.abortMultipartUpload(this.#bucket, upload.key, upload.uploadId);
          aborted++;
        }
        [keyMarker, uploadIdMarker] = page.isTruncated ? [page.nextKeyMarker, page.nextUploadIdMarker] : ['', ''];
      } while (keyMarker !== '');
    } catch (error) {
      throw toColdStoreError(error, { bucket: this.#bucket });
    }
    return aborted;
  }

  /** Aborts what it still can of the uploads it failed to abort, then closes its sockets. */
  async close(): Promise<void> {
    await this.#pendingAborts.retry();
    this.#agent.destroy();
  }

  async #putSingle(key: string, bytes: Buffer, checksums: Checksums, options: PutOptions): Promise<ObjectDescription> {
    // The body is in memory already, so a wrong declared checksum never reaches the server.
    assertDeclaredChecksums(BACKEND, key, options.checksums, checksums);
    const headers = {
      ...this.#objectHeaders(options.metadata, checksums),
      'x-amz-checksum-crc32c': checksums.crc32c,
      ...(options.ifNoneMatch && { 'if-none-match': '*' }),
    };
    const response = await withSignal(options.signal, () =>
      this.#client.makeRequestAsyncOmit({ method: 'PUT', bucketName: this.#bucket, objectName: this.#fullKey(key), headers }, bytes),
    );
    return this.#described(key, bytes.byteLength, response.headers, checksums, options);
  }

  async #putMultipart(key: string, parts: AsyncIterable<Buffer>, digest: StreamedDigest, options: PutOptions): Promise<ObjectDescription> {
    const fullKey = this.#fullKey(key);
    // Only what is known before the first byte can go in metadata: a declared SHA-256, say.
    const uploadId = await withSignal(options.signal, () =>
      this.#client.initiateNewMultipartUpload(this.#bucket, fullKey, {
        ...this.#objectHeaders(options.metadata, options.checksums ?? {}),
        'x-amz-checksum-algorithm': 'CRC32C',
        'x-amz-checksum-type': 'FULL_OBJECT',
      }),
    );
    try {
      const uploaded = await uploadBoundedParts(parts, {
        queueSize: this.queueSize,
        signal: options.signal,
        upload: (part, partNumber, signal) => withSignal(signal, () => this.#uploadPart(key, uploadId, part, partNumber)),
      });
      const checksums = digest.checksums;
      assertDeclaredChecksums(BACKEND, key, options.checksums, checksums);
      throwIfAborted(options.signal, BACKEND, key);
      // No signal from here: once Complete is sent the object may be committed, and an abort
      // that raced it would report a failure for an object that exists.
      const response = await withSignal(undefined, () =>
        this.#client.makeRequestAsync(
          {
            method: 'POST',
            bucketName: this.#bucket,
            objectName: fullKey,
            query: `uploadId=${encodeURIComponent(uploadId)}`,
            headers: {
              'x-amz-checksum-crc32c': checksums.crc32c,
              'x-amz-checksum-type': 'FULL_OBJECT',
              ...(options.ifNoneMatch && { 'if-none-match': '*' }),
            },
          },
          completeMultipartBody(uploaded),
        ),
      );
      // The protocol may answer 200 and put the failure in the body.
      const failure = completeMultipartError(await readText(response));
      if (failure) throw failure;
      return this.#described(key, digest.bytes, response.headers, checksums, options);
    } catch (error) {
      await this.#pendingAborts.abort(fullKey, uploadId);
      throw error;
    }
  }

  async #uploadPart(key: string, uploadId: string, part: Buffer, partNumber: number): Promise<UploadedPart> {
    if (partNumber > MAX_PARTS) {
      throw new RangeError(`${BACKEND}: "${key}" needs more than ${MAX_PARTS} parts of ${this.partSize} bytes; raise partSizeMb`);
    }
    const crc32c = crc32cOf(part);
    const { etag } = await this.#client.uploadPart(
      { bucketName: this.#bucket, objectName: this.#fullKey(key), uploadID: uploadId, partNumber, headers: { 'x-amz-checksum-crc32c': crc32c } },
      part,
    );
    return { partNumber, etag, crc32c };
  }

  async #assertBucketExists(key: string, signal: AbortSignal | undefined): Promise<void> {
    if (this.#bucketSeen) return;
    let exists: boolean;
    try {
      exists = await withSignal(signal, () => this.#client.bucketExists(this.#bucket));
    } catch (error) {
      throw toColdStoreError(error, { bucket: this.#bucket, key, signal });
    }
    if (!exists) throw containerMissing(BACKEND, 'bucket', this.#bucket, key);
    this.#bucketSeen = true;
  }

  #objectHeaders(metadata: Record<string, string> | undefined, checksums: Partial<Checksums>): Record<string, string> {
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream', ...this.#sseHeaders };
    for (const [name, value] of Object.entries(withChecksumMetadata(metadata, checksums))) headers[META_PREFIX + name] = value;
    return headers;
  }

  #described(key: string, size: number, headers: IncomingHttpHeaders, checksums: Checksums, options: PutOptions): ObjectDescription {
    return {
      key,
      size,
      etag: header(headers, 'etag'),
      checksums,
      metadata: { ...options.metadata },
      // MinIO does not echo the encryption on multipart responses; it was asked for on the
      // upload, which fails if the server cannot honour it.
      serverSideEncryption: header(headers, 'x-amz-server-side-encryption') ?? this.config.sse,
    };
  }

  #assertKey(key: unknown): asserts key is string {
    assertValidKey(BACKEND, key, this.#maxKeyBytes);
  }

  #fullKey(key: string): string {
    return joinKey(this.#prefix, key);
  }
}

/** A HEAD response as a description; the server's full-object CRC32C wins over metadata. */
function describeHead(key: string, headers: IncomingHttpHeaders): ObjectDescription {
  const stored: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith(META_PREFIX) && typeof value === 'string') stored[name.slice(META_PREFIX.length)] = value;
  }
  const { metadata, checksums } = splitChecksumMetadata(stored);
  const crc32c = header(headers, 'x-amz-checksum-crc32c');
  if (crc32c && header(headers, 'x-amz-checksum-type') !== 'COMPOSITE') checksums.crc32c = crc32c;
  const lastModified = header(headers, 'last-modified');
  return {
    key,
    size: Number(header(headers, 'content-length') ?? 0),
    etag: header(headers, 'etag'),
    lastModified: lastModified === undefined ? undefined : new Date(lastModified),
    checksums,
    metadata,
    serverSideEncryption: header(headers, 'x-amz-server-side-encryption'),
  };
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

async function readText(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
