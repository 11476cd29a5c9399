import { addAbortSignal, type Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
  type ServerSideEncryption,
} from '@aws-sdk/client-s3';
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
import type { S3Config } from './config.js';
import { BACKEND, toColdStoreError } from './errors.js';
import { createS3Client } from './s3-client.js';

const MIB = 1024 * 1024;
/** S3 numbers parts 1 to 10 000; larger objects need a larger `partSizeMb`. */
const MAX_PARTS = 10_000;
const MAX_DELETE_BATCH = 1000;

/**
 * A ColdStore on AWS S3 or any S3-compatible store (MinIO, Ceph, …) through `@aws-sdk/client-s3`.
 *
 * Writes: bodies shorter than one part go in a single PutObject; longer ones in a multipart
 * upload with at most `queueSize` parts in flight, so a put holds at most
 * `partSizeMb × queueSize` MiB of body. Every request carries its CRC32C for the server to
 * check; multipart uploads use S3's full-object CRC32C, so `head` reports the whole object's
 * CRC32C however it was uploaded. SHA-256 is kept in object metadata when it is known before
 * the first byte is sent (single puts, or a caller-declared one); hence `sha256OnHead: false`.
 */
export class S3ColdStore implements ColdStore {
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

  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #maxKeyBytes: number;
  readonly #sse: { ServerSideEncryption?: ServerSideEncryption; SSEKMSKeyId?: string };
  readonly #pendingAborts = new PendingAborts({
    abort: async (fullKey, uploadId) => {
      await this.#client.send(new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: fullKey, UploadId: uploadId }));
    },
    isGone: (error) => (error as { name?: string }).name === 'NoSuchUpload',
  });
  #bucketSeen = false;

  constructor(
    readonly config: S3Config,
    client: S3Client = createS3Client(config),
  ) {
    this.#client = client;
    this.#bucket = config.bucket;
    this.#prefix = config.prefix;
    this.#maxKeyBytes = this.capabilities.maxKeyBytes - (this.#prefix === '' ? 0 : Buffer.byteLength(this.#prefix) + 1);
    this.partSize = config.partSizeMb * MIB;
    this.queueSize = config.queueSize;
    this.#sse = {
      ...(config.sse !== undefined && { ServerSideEncryption: config.sse as ServerSideEncryption }),
      ...(config.kmsKeyId !== undefined && { SSEKMSKeyId: config.kmsKeyId }),
    };
  }

  /**
   * Streams `body` to `key`: one PutObject below a part, a bounded multipart upload above.
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
   * `INVALID_RANGE` (the server answers 416); one running past the end is truncated.
   */
  async get(key: string, options: GetOptions = {}): Promise<Readable> {
    this.#assertKey(key);
    const { range, signal } = options;
    if (range) assertRangeShape(BACKEND, key, range);
    throwIfAborted(signal, BACKEND, key);
    try {
      const response = await this.#client.send(
        new GetObjectCommand({ Bucket: this.#bucket, Key: this.#fullKey(key), ...(range && { Range: httpRangeHeader(range) }) }),
        { abortSignal: signal },
      );
      const body = response.Body as Readable;
      // Some servers answer a range over an empty object with the whole (empty) object.
      if (range && response.ContentRange === undefined && response.ContentLength === 0) {
        body.destroy();
        throw invalidRange(BACKEND, key, `offset ${range.offset} is at or past the end of a 0-byte object`);
      }
      // The SDK stops listening to the signal once the response arrives; the body must still abort.
      if (signal) addAbortSignal(signal, body);
      return body;
    } catch (error) {
      throw toColdStoreError(error, { bucket: this.#bucket, key, signal });
    }
  }

  /** The object's description (checksums included), or `null` when it does not exist. */
  async head(key: string, options: HeadOptions = {}): Promise<ObjectDescription | null> {
    this.#assertKey(key);
    throwIfAborted(options.signal, BACKEND, key);
    try {
      const response = await this.#client.send(
        new HeadObjectCommand({ Bucket: this.#bucket, Key: this.#fullKey(key), ChecksumMode: 'ENABLED' }),
        { abortSignal: options.signal },
      );
      const { metadata, checksums } = splitChecksumMetadata(response.Metadata);
      // The server's full-object CRC32C is the one it verified; metadata is the fallback.
      if (response.ChecksumCRC32C && response.ChecksumType !== 'COMPOSITE') checksums.crc32c = response.ChecksumCRC32C;
      return {
        key,
        size: response.ContentLength ?? 0,
        etag: response.ETag,
        lastModified: response.LastModified,
        checksums,
        metadata,
        serverSideEncryption: response.ServerSideEncryption,
      };
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
        await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#fullKey(key) }), { abortSignal: options.signal });
      } catch (error) {
        throw toColdStoreError(error, { bucket: this.#bucket, key, signal: options.signal });
      }
      return;
    }
    for (let start = 0; start < list.length; start += MAX_DELETE_BATCH) {
      const batch = list.slice(start, start + MAX_DELETE_BATCH);
      let errors;
      try {
        const response = await this.#client.send(
          new DeleteObjectsCommand({
            Bucket: this.#bucket,
            Delete: { Objects: batch.map((key) => ({ Key: this.#fullKey(key) })), Quiet: true },
          }),
          { abortSignal: options.signal },
        );
        errors = response.Errors ?? [];
      } catch (error) {
        throw toColdStoreError(error, { bucket: this.#bucket, signal: options.signal });
      }
      // Quiet mode reports only failures, each with its own code.
      const failed = errors.find((entry) => entry.Code !== 'NoSuchKey');
      if (failed) {
        const key = failed.Key === undefined ? undefined : stripPrefix(this.#prefix, failed.Key);
        const cause = Object.assign(new Error(failed.Message ?? failed.Code), { name: failed.Code, Code: failed.Code });
        throw toColdStoreError(cause, { bucket: this.#bucket, key });
      }
    }
  }

  /**
   * Every object under `prefix`, one ListObjectsV2 page at a time. Listings carry no user
   * metadata or checksums (S3 does not return them); `head` an object for those.
   */
  async *list(prefix: string, options: ListOptions = {}): AsyncIterable<ObjectDescription> {
    assertValidPrefix(BACKEND, prefix, this.#maxKeyBytes);
    const { signal, pageSize } = options;
    let token: string | undefined;
    do {
      throwIfAborted(signal, BACKEND);
      let page;
      try {
        page = await this.#client.send(
          new ListObjectsV2Command({
            Bucket: this.#bucket,
            Prefix: this.#fullKey(prefix),
            ...(token !== undefined && { ContinuationToken: token }),
            ...(pageSize !== undefined && { MaxKeys: pageSize }),
          }),
          { abortSignal: signal },
        );
      } catch (error) {
        throw toColdStoreError(error, { bucket: this.#bucket, key: prefix, signal });
      }
      for (const object of page.Contents ?? []) {
        const key = object.Key === undefined ? undefined : stripPrefix(this.#prefix, object.Key);
        if (key === undefined || key === '') continue;
        yield { key, size: object.Size ?? 0, etag: object.ETag, lastModified: object.LastModified, checksums: {}, metadata: {} };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
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
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      let page;
      try {
        // No `Prefix`: MinIO lists uploads only for a whole bucket or one exact key.
        page = await this.#client.send(
          new ListMultipartUploadsCommand({
            Bucket: this.#bucket,
            ...(keyMarker !== undefined && { KeyMarker: keyMarker }),
            ...(uploadIdMarker !== undefined && { UploadIdMarker: uploadIdMarker }),
          }),
        );
      } catch (error) {
        throw toColdStoreError(error, { bucket: this.#bucket });
      }
      for (const upload of page.Uploads ?? []) {
        if (upload.Key === undefined || upload.UploadId === undefined || !upload.Key.startsWith(prefix)) continue;
        if ((upload.Initiated?.getTime() ?? 0) > cutoff) continue;
        await this.#client.send(new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: upload.Key, UploadId: upload.UploadId }));
        aborted++;
      }
      [keyMarker, uploadIdMarker] = page.IsTruncated ? [page.NextKeyMarker, page.NextUploadIdMarker] : [undefined, undefined];
    } while (keyMarker !== undefined);
    return aborted;
  }

  /** Aborts what it still can of the uploads it failed to abort, then closes its sockets. */
  async close(): Promise<void> {
    await this.#pendingAborts.retry();
    this.#client.destroy();
  }

  async #putSingle(key: string, bytes: Buffer, checksums: Checksums, options: PutOptions): Promise<ObjectDescription> {
    // The body is in memory already, so a wrong declared checksum never reaches the server.
    assertDeclaredChecksums(BACKEND, key, options.checksums, checksums);
    const response = await this.#client.send(
      new PutObjectCommand({
        ...this.#objectParams(key, options.metadata, checksums),
        Body: bytes,
        ContentLength: bytes.byteLength,
        ChecksumAlgorithm: 'CRC32C',
        ChecksumCRC32C: checksums.crc32c,
        ...(options.ifNoneMatch && { IfNoneMatch: '*' }),
      }),
      { abortSignal: options.signal },
    );
    return this.#described(key, bytes.byteLength, response.ETag, checksums, options, response.ServerSideEncryption);
  }

  async #putMultipart(key: string, parts: AsyncIterable<Buffer>, digest: StreamedDigest, options: PutOptions): Promise<ObjectDescription> {
    const fullKey = this.#fullKey(key);
    // Only what is known before the first byte can go in metadata: a declared SHA-256, say.
    const created = await this.#client.send(
      new CreateMultipartUploadCommand({
        ...this.#objectParams(key, options.metadata, options.checksums ?? {}),
        ChecksumAlgorithm: 'CRC32C',
        ChecksumType: 'FULL_OBJECT',
      }),
      { abortSignal: options.signal },
    );
    const uploadId = created.UploadId!;
    try {
      const completed = await uploadBoundedParts(parts, {
        queueSize: this.queueSize,
        signal: options.signal,
        upload: (part, partNumber, signal) => this.#uploadPart(key, uploadId, part, partNumber, signal),
      });
      const checksums = digest.checksums;
      assertDeclaredChecksums(BACKEND, key, options.checksums, checksums);
      throwIfAborted(options.signal, BACKEND, key);
      // No signal from here: once Complete is sent the object may be committed, and an abort
      // that raced it would report a failure for an object that exists.
      const done = await this.#client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.#bucket,
          Key: fullKey,
          UploadId: uploadId,
          MultipartUpload: { Parts: completed },
          ChecksumCRC32C: checksums.crc32c,
          ChecksumType: 'FULL_OBJECT',
          MpuObjectSize: digest.bytes,
          ...(options.ifNoneMatch && { IfNoneMatch: '*' }),
        }),
      );
      const sse = done.ServerSideEncryption ?? created.ServerSideEncryption;
      return this.#described(key, digest.bytes, done.ETag, checksums, options, sse);
    } catch (error) {
      await this.#pendingAborts.abort(fullKey, uploadId);
      throw error;
    }
  }

  async #uploadPart(key: string, uploadId: string, part: Buffer, partNumber: number, signal: AbortSignal): Promise<CompletedPart> {
    if (partNumber > MAX_PARTS) {
      throw new RangeError(`${BACKEND}: "${key}" needs more than ${MAX_PARTS} parts of ${this.partSize} bytes; raise partSizeMb`);
    }
    const crc32c = crc32cOf(part);
    const response = await this.#client.send(
      new UploadPartCommand({
        Bucket: this.#bucket,
        Key: this.#fullKey(key),
        UploadId: uploadId,
        PartNumber: partNumber,
        Body: part,
        ContentLength: part.byteLength,
        ChecksumAlgorithm: 'CRC32C',
        ChecksumCRC32C: crc32c,
      }),
      { abortSignal: signal },
    );
    return { PartNumber: partNumber, ETag: response.ETag, ChecksumCRC32C: response.ChecksumCRC32C ?? crc32c };
  }

  async #assertBucketExists(key: string, signal: AbortSignal | undefined): Promise<void> {
    if (this.#bucketSeen) return;
    try {
      await this.#client.send(new HeadBucketCommand({ Bucket: this.#bucket }), { abortSignal: signal });
      this.#bucketSeen = true;
    } catch (error) {
      const mapped = toColdStoreError(error, { bucket: this.#bucket, key, signal });
      throw mapped.code === 'NOT_FOUND' ? containerMissing(BACKEND, 'bucket', this.#bucket, key, error) : mapped;
    }
  }

  #objectParams(key: string, metadata: Record<string, string> | undefined, checksums: Partial<Checksums>) {
    return {
      Bucket: this.#bucket,
      Key: this.#fullKey(key),
      ContentType: 'application/octet-stream',
      Metadata: withChecksumMetadata(metadata, checksums),
      ...this.#sse,
    };
  }

  #described(
    key: string,
    size: number,
    etag: string | undefined,
    checksums: Checksums,
    options: PutOptions,
    serverSideEncryption: string | undefined,
  ): ObjectDescription {
    // Some servers (MinIO) do not echo the encryption on multipart responses; it was asked
    // for on the upload, which fails if the server cannot honour it.
    return { key, size, etag, checksums, metadata: { ...options.metadata }, serverSideEncryption: serverSideEncryption ?? this.config.sse };
  }

  #assertKey(key: unknown): asserts key is string {
    assertValidKey(BACKEND, key, this.#maxKeyBytes);
  }

  #fullKey(key: string): string {
    return joinKey(this.#prefix, key);
  }
}
