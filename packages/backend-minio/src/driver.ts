import type { Agent, IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import type { Client } from 'minio';
import { describeS3Object, httpRangeHeader, S3ProtocolDriver, s3FieldsFromHeaders, s3WriteHeaders, signS3Read, type SignedRead, type BatchDelete, type Checksums, type ListPage, type ListRequest, type MultipartCompletion, type MultipartStart, type MultipartUpload, type ObjectRead, type ObjectRequest, type ObjectWrite, type OpenedObject, type PartWrite, type S3DeleteError, type S3ObjectFields, type S3UploadsPage, type UploadedPart, type WriteReceipt } from '@takhin/core';
import { completeMultipartBody, completeMultipartError } from './complete-multipart.js';
import type { MinioConfig } from './config.js';
import { BACKEND, readMinioFailure } from './errors.js';
import { createMinioClient, withSignal } from './minio-client.js';

/**
 * The S3 protocol through MinIO's own client (`minio`), for core's S3 protocol driver. Its
 * high-level calls can send neither per-part checksums nor a conditional completion, and take
 * no AbortSignal, so writes use its lower-level requests with the protocol's headers (from
 * core), and each request runs with its signal handed to the transport (see minio-client.ts).
 */
export class MinioDriver extends S3ProtocolDriver {
  readonly client: Client;
  readonly #agent: Agent;

  constructor(readonly config: MinioConfig) {
    super(BACKEND, config);
    ({ client: this.client, agent: this.#agent } = createMinioClient(config));
  }

  async putObject(write: ObjectWrite): Promise<WriteReceipt> {
    const headers = { ...this.#writeHeaders(write.metadata, write.checksums), 'x-amz-checksum-crc32c': write.checksums.crc32c, ...ifNoneMatchHeader(write.ifNoneMatch) };
    const response = await withSignal(undefined, () => this.client.makeRequestAsyncOmit({ method: 'PUT', bucketName: this.bucket, objectName: write.name, headers }, write.body));
    return this.#receipt(response.headers);
  }

  async createMultipart(start: MultipartStart): Promise<MultipartUpload> {
    // Only what is known before the first byte can go in metadata: a declared SHA-256, say.
    const headers = { ...this.#writeHeaders(start.metadata, start.declared), 'x-amz-checksum-algorithm': 'CRC32C', 'x-amz-checksum-type': 'FULL_OBJECT' };
    return { key: start.key, name: start.name, id: await withSignal(undefined, () => this.client.initiateNewMultipartUpload(this.bucket, start.name, headers)) };
  }

  async uploadPart({ upload, number, body, crc32c, signal }: PartWrite): Promise<UploadedPart> {
    const part = { bucketName: this.bucket, objectName: upload.name, uploadID: upload.id, partNumber: number, headers: { 'x-amz-checksum-crc32c': crc32c } };
    const { etag } = await withSignal(signal, () => this.client.uploadPart(part, body));
    return { number, etag, crc32c, size: body.byteLength };
  }

  async completeMultipart({ upload, parts, checksums, ifNoneMatch }: MultipartCompletion): Promise<WriteReceipt> {
    const headers = { 'x-amz-checksum-crc32c': checksums.crc32c, 'x-amz-checksum-type': 'FULL_OBJECT', ...ifNoneMatchHeader(ifNoneMatch) };
    const query = `uploadId=${encodeURIComponent(upload.id)}`;
    const response = await withSignal(undefined, () => this.client.makeRequestAsync({ method: 'POST', bucketName: this.bucket, objectName: upload.name, query, headers }, completeMultipartBody(parts)));
    // The protocol may answer 200 and put the failure in the body.
    const failure = completeMultipartError(await text(response));
    if (failure) throw failure;
    return this.#receipt(response.headers);
  }

  async getObject({ name, range, signal }: ObjectRead): Promise<OpenedObject> {
    const request = { method: 'GET', bucketName: this.bucket, objectName: name, headers: range ? { range: httpRangeHeader(range) } : {} };
    const response = await withSignal(signal, () => this.client.makeRequestAsync(request, '', range ? [200, 206] : [200]));
    const length = response.headers['content-length'];
    return { body: response as Readable, status: response.statusCode ?? 200, contentRange: response.headers['content-range'], contentLength: length === undefined ? undefined : Number(length) };
  }

  async signRead(read: ObjectRead): Promise<SignedRead | undefined> {
    const { endpoint, region, accessKey, secretKey, sessionToken } = this.config;
    return signS3Read({ endpoint, pathStyle: true, bucket: this.bucket, region, accessKeyId: accessKey, secretAccessKey: secretKey, sessionToken }, read);
  }

  async listPage({ prefix, cursor, pageSize, signal }: ListRequest): Promise<ListPage> {
    const page = await withSignal(signal, () => this.client.listObjectsV2Query(this.bucket, prefix, cursor ?? '', '', pageSize ?? 1000, ''));
    // A listing carries no user metadata or checksums (the protocol does not return them), and
    // the minio client drops each entry's StorageClass: say none rather than S3's default.
    const named = page.objects.filter((object) => object.name !== undefined);
    const objects = named.map((object) => ({
      ...describeS3Object(String(object.name), { size: Number(object.size), etag: object.etag, lastModified: object.lastModified }),
      storageClass: undefined,
    }));
    return { objects, cursor: this.listCursor(prefix, page.isTruncated, page.nextContinuationToken) };
  }

  async deleteObject({ name, signal }: ObjectRequest): Promise<void> {
    await withSignal(signal, () => this.client.removeObject(this.bucket, name));
  }

  async close(): Promise<void> {
    this.#agent.destroy();
  }

  protected readFailure(error: unknown) {
    return readMinioFailure(error);
  }

  protected async headFields({ name, signal }: ObjectRequest): Promise<S3ObjectFields> {
    const request = { method: 'HEAD', bucketName: this.bucket, objectName: name, headers: { 'x-amz-checksum-mode': 'ENABLED' } };
    return s3FieldsFromHeaders((await withSignal(signal, () => this.client.makeRequestAsyncOmit(request))).headers);
  }

  protected async sendAbort(upload: MultipartUpload): Promise<void> {
    await withSignal(undefined, () => this.client.abortMultipartUpload(this.bucket, upload.name, upload.id));
  }

  /** One batch a call: given more, the client would send several requests at once. */
  protected async sendDeleteBatch({ names, signal }: BatchDelete): Promise<S3DeleteError[]> {
    return (await withSignal(signal, () => this.client.removeObjects(this.bucket, [...names]))) as S3DeleteError[];
  }

  protected bucketExists(signal?: AbortSignal): Promise<boolean> {
    return withSignal(signal, () => this.client.bucketExists(this.bucket));
  }

  protected async uploadsPage(marker: S3UploadsPage['next']): Promise<S3UploadsPage> {
    const page = await withSignal(undefined, () => this.client.listIncompleteUploadsQuery(this.bucket, '', marker?.keyMarker ?? '', marker?.uploadIdMarker ?? '', ''));
    return {
      uploads: page.uploads.map((upload) => ({ name: upload.key, id: upload.uploadId, startedAt: upload.initiated })),
      next: page.isTruncated ? { keyMarker: page.nextKeyMarker, uploadIdMarker: page.nextUploadIdMarker } : undefined,
    };
  }

  #writeHeaders(metadata: Record<string, string>, checksums: Partial<Checksums>): Record<string, string> {
    const { sse, kmsKeyId, storageClass } = this.config;
    return s3WriteHeaders({ metadata, checksums, sse, kmsKeyId, storageClass });
  }

  #receipt(headers: IncomingHttpHeaders): WriteReceipt {
    const { etag, serverSideEncryption } = s3FieldsFromHeaders(headers);
    return this.receipt(etag, serverSideEncryption);
  }
}

function ifNoneMatchHeader(ifNoneMatch: boolean): Record<string, string> {
  return ifNoneMatch ? { 'if-none-match': '*' } : {};
}

