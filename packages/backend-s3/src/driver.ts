import type { Readable } from 'node:stream';
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
  type S3Client,
  type ServerSideEncryption,
  type StorageClass,
} from '@aws-sdk/client-s3';
import {
  containerMissing,
  describeS3Object,
  httpRangeHeader,
  isColdStoreError,
  s3BatchDeleteFailure,
  s3DriverLimits,
  withChecksumMetadata,
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
import type { S3Config } from './config.js';
import { BACKEND, toColdStoreError } from './errors.js';
import { createS3Client } from './s3-client.js';

/**
 * The S3 protocol through `@aws-sdk/client-s3`, for AWS S3 and any S3-compatible server. Every
 * write carries its CRC32C for the server to check, and multipart writes use S3's full-object
 * CRC32C, so head reports the whole object's CRC32C however it was written. SHA-256 is kept in
 * metadata when known before the first byte (single writes, or a declared one).
 */
export class S3Driver implements ColdStoreDriver {
  readonly backend = BACKEND;
  readonly limits: DriverLimits;
  readonly features: DriverFeatures = { sha256OnHead: false, serverVerifiesCrc32c: true, conditionalWrites: 'probe' };
  readonly client: S3Client;
  readonly #bucket: string;

  constructor(
    readonly config: S3Config,
    client?: S3Client,
  ) {
    this.limits = s3DriverLimits(config);
    this.client = client ?? createS3Client(config);
    this.#bucket = config.bucket;
  }

  async putObject(write: ObjectWrite): Promise<WriteReceipt> {
    const response = await this.client.send(
      new PutObjectCommand({
        ...this.#objectParams(write.name, write.metadata, write.checksums),
        Body: write.body,
        ContentLength: write.body.byteLength,
        ChecksumAlgorithm: 'CRC32C',
        ChecksumCRC32C: write.checksums.crc32c,
        ...(write.ifNoneMatch && { IfNoneMatch: '*' }),
      }),
    );
    return this.#receipt(response.ETag, response.ServerSideEncryption);
  }

  async createMultipart(start: MultipartStart): Promise<MultipartUpload> {
    // Only what is known before the first byte can go in metadata: a declared SHA-256, say.
    const created = await this.client.send(
      new CreateMultipartUploadCommand({ ...this.#objectParams(start.name, start.metadata, start.declared), ChecksumAlgorithm: 'CRC32C', ChecksumType: 'FULL_OBJECT' }),
    );
    return { key: start.key, name: start.name, id: created.UploadId! };
  }

  async uploadPart({ upload, number, body, crc32c, signal }: PartWrite): Promise<UploadedPart> {
    const response = await this.client.send(
      new UploadPartCommand({
        Bucket: this.#bucket,
        Key: upload.name,
        UploadId: upload.id,
        PartNumber: number,
        Body: body,
        ContentLength: body.byteLength,
        ChecksumAlgorithm: 'CRC32C',
        ChecksumCRC32C: crc32c,
      }),
      { abortSignal: signal },
    );
    return { number, etag: response.ETag, crc32c: response.ChecksumCRC32C ?? crc32c, size: body.byteLength };
  }

  async completeMultipart({ upload, parts, size, checksums, ifNoneMatch }: MultipartCompletion): Promise<WriteReceipt> {
    const response = await this.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: this.#bucket,
        Key: upload.name,
        UploadId: upload.id,
        MultipartUpload: { Parts: parts.map((part) => ({ PartNumber: part.number, ETag: part.etag, ChecksumCRC32C: part.crc32c })) },
        ChecksumCRC32C: checksums.crc32c,
        ChecksumType: 'FULL_OBJECT',
        MpuObjectSize: size,
        ...(ifNoneMatch && { IfNoneMatch: '*' }),
      }),
    );
    return this.#receipt(response.ETag, response.ServerSideEncryption);
  }

  async abortMultipart(upload: MultipartUpload): Promise<void> {
    try {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: upload.name, UploadId: upload.id }));
    } catch (error) {
      if ((error as { name?: string }).name !== 'NoSuchUpload') throw error;
    }
  }

  async getObject({ name, range, signal }: ObjectRead): Promise<OpenedObject> {
    const response = await this.client.send(
      new GetObjectCommand({ Bucket: this.#bucket, Key: name, ...(range && { Range: httpRangeHeader(range) }) }),
      { abortSignal: signal },
    );
    return { body: response.Body as Readable, status: response.$metadata.httpStatusCode ?? 200, contentRange: response.ContentRange, contentLength: response.ContentLength };
  }

  async headObject({ name, signal }: ObjectRequest): Promise<StoredObject | null> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: name, ChecksumMode: 'ENABLED' }), { abortSignal: signal });
      return describeS3Object(name, {
        size: head.ContentLength ?? 0,
        etag: head.ETag,
        lastModified: head.LastModified,
        metadata: head.Metadata,
        checksumCrc32c: head.ChecksumCRC32C,
        checksumType: head.ChecksumType,
        serverSideEncryption: head.ServerSideEncryption,
        storageClass: head.StorageClass,
      });
    } catch (error) {
      if (isColdStoreError(this.mapError(error, {}), 'NOT_FOUND')) return null;
      throw error;
    }
  }

  async listPage({ prefix, cursor, pageSize, signal }: ListRequest): Promise<ListPage> {
    const page = await this.client.send(
      new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: prefix, ContinuationToken: cursor, MaxKeys: pageSize }),
      { abortSignal: signal },
    );
    // A listing carries no user metadata or checksums (S3 does not return them).
    const objects = (page.Contents ?? []).map((object) =>
      describeS3Object(object.Key ?? '', { size: object.Size ?? 0, etag: object.ETag, lastModified: object.LastModified, storageClass: object.StorageClass }),
    );
    return { objects, cursor: page.IsTruncated ? page.NextContinuationToken : undefined };
  }

  async deleteObject({ name, signal }: ObjectRequest): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: name }), { abortSignal: signal });
  }

  async deleteBatch({ names, signal }: BatchDelete): Promise<void> {
    const response = await this.client.send(
      new DeleteObjectsCommand({ Bucket: this.#bucket, Delete: { Objects: names.map((name) => ({ Key: name })), Quiet: true } }),
      { abortSignal: signal },
    );
    const failed = s3BatchDeleteFailure(response.Errors ?? []);
    if (failed) throw Object.assign(new Error(failed.message), { name: failed.code, Code: failed.code });
  }

  async assertContainer(signal?: AbortSignal): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.#bucket }), { abortSignal: signal });
    } catch (error) {
      const mapped = this.mapError(error, {});
      throw isColdStoreError(mapped, 'NOT_FOUND') ? containerMissing(BACKEND, 'bucket', this.#bucket, undefined, error) : mapped;
    }
  }

  async listOpenUploads(prefix: string): Promise<OpenUpload[]> {
    const open: OpenUpload[] = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      // No `Prefix`: MinIO lists uploads only for a whole bucket or one exact key.
      const page = await this.client.send(new ListMultipartUploadsCommand({ Bucket: this.#bucket, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }));
      for (const upload of page.Uploads ?? []) {
        if (upload.Key?.startsWith(prefix) && upload.UploadId) open.push({ key: '', name: upload.Key, id: upload.UploadId, startedAt: upload.Initiated });
      }
      [keyMarker, uploadIdMarker] = page.IsTruncated ? [page.NextKeyMarker, page.NextUploadIdMarker] : [undefined, undefined];
    } while (keyMarker !== undefined);
    return open;
  }

  mapError(error: unknown, context: ErrorContext): ColdStoreError {
    return toColdStoreError(error, this.#bucket, context);
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  #objectParams(name: string, metadata: Record<string, string>, checksums: Partial<Checksums>) {
    const { sse, kmsKeyId, storageClass } = this.config;
    return {
      Bucket: this.#bucket,
      Key: name,
      ContentType: 'application/octet-stream',
      Metadata: withChecksumMetadata(metadata, checksums),
      ...(sse !== undefined && { ServerSideEncryption: sse as ServerSideEncryption }),
      ...(kmsKeyId !== undefined && { SSEKMSKeyId: kmsKeyId }),
      ...(storageClass !== undefined && { StorageClass: storageClass as StorageClass }),
    };
  }

  /** Some servers (MinIO) do not echo the encryption on multipart answers; the write asked for it, or failed. */
  #receipt(etag: string | undefined, serverSideEncryption: string | undefined): WriteReceipt {
    return { etag, serverSideEncryption: serverSideEncryption ?? this.config.sse, storageClass: this.config.storageClass ?? 'STANDARD' };
  }
}
