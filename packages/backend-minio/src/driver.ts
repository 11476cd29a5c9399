import type { Agent } from 'node:http';
import type { Readable } from 'node:stream';
import type { Client } from 'minio';
import {
  containerMissing,
  describeS3Object,
  httpRangeHeader,
  isColdStoreError,
  s3BatchDeleteFailure,
  s3DriverLimits,
  s3FieldsFromHeaders,
  s3WriteHeaders,
  type BatchDelete,
  type Checksums,
  type ColdStoreDriver,
  type ColdStoreError,
  type DriverFeatures,
  type DriverLimits,
  type ErrorContext,
  type ListPage,
  type ListRequest,
  type MultipartCompletion,
  type MultipartStart,
  type MultipartUpload,
  type ObjectRead,
  type ObjectRequest,
  type ObjectWrite,
  type OpenedObject,
  type OpenUpload,
  type PartWrite,
  type StoredObject,
  type UploadedPart,
  type WriteReceipt,
} from '@takhin/core';
import { completeMultipartBody, completeMultipartError } from './complete-multipart.js';
import type { MinioConfig } from './config.js';
import { BACKEND, toColdStoreError } from './errors.js';
import { createMinioClient, withSignal } from './minio-client.js';

/**
 * The S3 protocol through MinIO's own client (`minio`). Its high-level calls can send neither
 * per-part checksums nor a conditional completion, and take no AbortSignal, so writes use its
 * lower-level requests with the protocol's headers (from core), and each request runs with
 * the operation's signal handed to the transport (see minio-client.ts).
 */
export class MinioDriver implements ColdStoreDriver {
  readonly backend = BACKEND;
  readonly limits: DriverLimits;
  readonly features: DriverFeatures = { sha256OnHead: false, serverVerifiesCrc32c: true, conditionalWrites: 'probe' };
  readonly client: Client;
  readonly #agent: Agent;
  readonly #bucket: string;

  constructor(readonly config: MinioConfig) {
    this.limits = s3DriverLimits(config);
    ({ client: this.client, agent: this.#agent } = createMinioClient(config));
    this.#bucket = config.bucket;
  }

  async putObject(write: ObjectWrite): Promise<WriteReceipt> {
    const headers = {
      ...this.#writeHeaders(write.metadata, write.checksums),
      'x-amz-checksum-crc32c': write.checksums.crc32c,
      ...(write.ifNoneMatch && { 'if-none-match': '*' }),
    };
    const response = await this.client.makeRequestAsyncOmit({ method: 'PUT', bucketName: this.#bucket, objectName: write.name, headers }, write.body);
    return this.#receipt(response.headers);
  }

  async createMultipart(start: MultipartStart): Promise<MultipartUpload> {
    // Only what is known before the first byte can go in metadata: a declared SHA-256, say.
    const headers = { ...this.#writeHeaders(start.metadata, start.declared), 'x-amz-checksum-algorithm': 'CRC32C', 'x-amz-checksum-type': 'FULL_OBJECT' };
    const id = await this.client.initiateNewMultipartUpload(this.#bucket, start.name, headers);
    return { key: start.key, name: start.name, id };
  }

  async uploadPart({ upload, number, body, crc32c, signal }: PartWrite): Promise<UploadedPart> {
    const part = { bucketName: this.#bucket, objectName: upload.name, uploadID: upload.id, partNumber: number, headers: { 'x-amz-checksum-crc32c': crc32c } };
    const { etag } = await withSignal(signal, () => this.client.uploadPart(part, body));
    return { number, etag, crc32c, size: body.byteLength };
  }

  async completeMultipart({ upload, parts, checksums, ifNoneMatch }: MultipartCompletion): Promise<WriteReceipt> {
    const request = {
      method: 'POST',
      bucketName: this.#bucket,
      objectName: upload.name,
      query: `uploadId=${encodeURIComponent(upload.id)}`,
      headers: { 'x-amz-checksum-crc32c': checksums.crc32c, 'x-amz-checksum-type': 'FULL_OBJECT', ...(ifNoneMatch && { 'if-none-match': '*' }) },
    };
    const response = await this.client.makeRequestAsync(request, completeMultipartBody(parts));
    // The protocol may answer 200 and put the failure in the body.
    const failure = completeMultipartError(await readText(response));
    if (failure) throw failure;
    return this.#receipt(response.headers);
  }

  async abortMultipart(upload: MultipartUpload): Promise<void> {
    try {
      await this.client.abortMultipartUpload(this.#bucket, upload.name, upload.id);
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'NoSuchUpload') throw error;
    }
  }

  async getObject({ name, range, signal }: ObjectRead): Promise<OpenedObject> {
    const headers = range ? { range: httpRangeHeader(range) } : {};
    const response = await withSignal(signal, () =>
      this.client.makeRequestAsync({ method: 'GET', bucketName: this.#bucket, objectName: name, headers }, '', range ? [200, 206] : [200]),
    );
    const length = response.headers['content-length'];
    return { body: response as Readable, status: response.statusCode ?? 200, contentRange: response.headers['content-range'], contentLength: length === undefined ? undefined : Number(length) };
  }

  async headObject({ name, signal }: ObjectRequest): Promise<StoredObject | null> {
    try {
      const request = { method: 'HEAD', bucketName: this.#bucket, objectName: name, headers: { 'x-amz-checksum-mode': 'ENABLED' } };
      const response = await withSignal(signal, () => this.client.makeRequestAsyncOmit(request));
      return describeS3Object(name, s3FieldsFromHeaders(response.headers));
    } catch (error) {
      if (isColdStoreError(this.mapError(error, {}), 'NOT_FOUND')) return null;
      throw error;
    }
  }

  async listPage({ prefix, cursor, pageSize, signal }: ListRequest): Promise<ListPage> {
    const page = await withSignal(signal, () => this.client.listObjectsV2Query(this.#bucket, prefix, cursor ?? '', '', pageSize ?? 1000, ''));
    // A listing carries no user metadata or checksums (the protocol does not return them).
    const objects = page.objects
      .filter((object) => object.name !== undefined)
      .map((object) => describeS3Object(String(object.name), { size: Number(object.size), etag: object.etag, lastModified: object.lastModified }));
    return { objects, cursor: page.isTruncated ? page.nextContinuationToken : undefined };
  }

  async deleteObject({ name, signal }: ObjectRequest): Promise<void> {
    await withSignal(signal, () => this.client.removeObject(this.#bucket, name));
  }

  async deleteBatch({ names, signal }: BatchDelete): Promise<void> {
    // One batch a call: given more, the client would send several requests at once.
    const errors = (await withSignal(signal, () => this.client.removeObjects(this.#bucket, [...names]))) as Array<{ Code?: string; Message?: string; Key?: string }>;
    const failed = s3BatchDeleteFailure(errors);
    if (failed) throw Object.assign(new Error(failed.message), { code: failed.code });
  }

  async assertContainer(signal?: AbortSignal): Promise<void> {
    if (!(await withSignal(signal, () => this.client.bucketExists(this.#bucket)))) throw containerMissing(BACKEND, 'bucket', this.#bucket);
  }

  async listOpenUploads(prefix: string): Promise<OpenUpload[]> {
    const open: OpenUpload[] = [];
    let [keyMarker, uploadIdMarker] = ['', ''];
    do {
      // No prefix: MinIO lists uploads only for a whole bucket or one exact key.
      const page = await this.client.listIncompleteUploadsQuery(this.#bucket, '', keyMarker, uploadIdMarker, '');
      for (const upload of page.uploads) {
        if (upload.key.startsWith(prefix)) open.push({ key: '', name: upload.key, id: upload.uploadId, startedAt: upload.initiated });
      }
      [keyMarker, uploadIdMarker] = page.isTruncated ? [page.nextKeyMarker, page.nextUploadIdMarker] : ['', ''];
    } while (keyMarker !== '');
    return open;
  }

  mapError(error: unknown, context: ErrorContext): ColdStoreError {
    return toColdStoreError(error, this.#bucket, context);
  }

  async close(): Promise<void> {
    this.#agent.destroy();
  }

  #writeHeaders(metadata: Record<string, string>, checksums: Partial<Checksums>): Record<string, string> {
    const { sse, kmsKeyId, storageClass } = this.config;
    return s3WriteHeaders({ metadata, checksums, sse, kmsKeyId, storageClass });
  }

  /** MinIO does not echo the encryption on multipart answers; the write asked for it, or failed. */
  #receipt(headers: Record<string, string | string[] | undefined>): WriteReceipt {
    const etag = headers.etag;
    const sse = headers['x-amz-server-side-encryption'];
    return {
      etag: Array.isArray(etag) ? etag[0] : etag,
      serverSideEncryption: (Array.isArray(sse) ? sse[0] : sse) ?? this.config.sse,
      storageClass: this.config.storageClass ?? 'STANDARD',
    };
  }
}

async function readText(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
