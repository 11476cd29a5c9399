import type { Readable } from 'node:stream';
import { AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectCommand, DeleteObjectsCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, PutObjectCommand, UploadPartCommand, type S3Client, type ServerSideEncryption, type StorageClass } from '@aws-sdk/client-s3';
import { describeS3Object, httpRangeHeader, S3ProtocolDriver, signS3Read, withChecksumMetadata, type SignedRead, type BatchDelete, type Checksums, type ListPage, type ListRequest, type MultipartCompletion, type MultipartStart, type MultipartUpload, type ObjectRead, type ObjectRequest, type ObjectWrite, type OpenedObject, type PartWrite, type S3ObjectFields, type S3UploadsPage, type UploadedPart, type WriteReceipt } from '@takhin/core';
import type { S3Config } from './config.js';
import { BACKEND, readS3Failure } from './errors.js';
import { createS3Client } from './s3-client.js';

/**
 * The S3 protocol through `@aws-sdk/client-s3`, for AWS S3 and any S3-compatible server: the
 * SDK's requests for core's S3 protocol driver. Every write carries its CRC32C for the server
 * to check; multipart writes use S3's full-object CRC32C, so head reports the whole object's
 * CRC32C however it was written. SHA-256 is kept in metadata when known before the first byte.
 */
export class S3Driver extends S3ProtocolDriver {
  readonly client: S3Client;

  constructor(
    readonly config: S3Config,
    client?: S3Client,
  ) {
    super(BACKEND, config);
    this.client = client ?? createS3Client(config);
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
    return this.receipt(response.ETag, response.ServerSideEncryption);
  }

  async createMultipart(start: MultipartStart): Promise<MultipartUpload> {
    // Only what is known before the first byte can go in metadata: a declared SHA-256, say.
    const params = { ...this.#objectParams(start.name, start.metadata, start.declared), ChecksumAlgorithm: 'CRC32C', ChecksumType: 'FULL_OBJECT' } as const;
    const created = await this.client.send(new CreateMultipartUploadCommand(params));
    return { key: start.key, name: start.name, id: created.UploadId! };
  }

  async uploadPart({ upload, number, body, crc32c, signal }: PartWrite): Promise<UploadedPart> {
    const part = { Bucket: this.bucket, Key: upload.name, UploadId: upload.id, PartNumber: number, Body: body, ContentLength: body.byteLength };
    const response = await this.client.send(new UploadPartCommand({ ...part, ChecksumAlgorithm: 'CRC32C', ChecksumCRC32C: crc32c }), { abortSignal: signal });
    return { number, etag: response.ETag, crc32c: response.ChecksumCRC32C ?? crc32c, size: body.byteLength };
  }

  async completeMultipart({ upload, parts, size, checksums, ifNoneMatch }: MultipartCompletion): Promise<WriteReceipt> {
    const response = await this.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: this.bucket,
        Key: upload.name,
        UploadId: upload.id,
        MultipartUpload: { Parts: parts.map((part) => ({ PartNumber: part.number, ETag: part.etag, ChecksumCRC32C: part.crc32c })) },
        ChecksumCRC32C: checksums.crc32c,
        ChecksumType: 'FULL_OBJECT',
        MpuObjectSize: size,
        ...(ifNoneMatch && { IfNoneMatch: '*' }),
      }),
    );
    return this.receipt(response.ETag, response.ServerSideEncryption);
  }

  async getObject({ name, range, signal }: ObjectRead): Promise<OpenedObject> {
    const request = new GetObjectCommand({ Bucket: this.bucket, Key: name, ...(range && { Range: httpRangeHeader(range) }) });
    const response = await this.client.send(request, { abortSignal: signal });
    return { body: response.Body as Readable, status: response.$metadata.httpStatusCode ?? 200, contentRange: response.ContentRange, contentLength: response.ContentLength };
  }

  /** A read core sends itself, when the endpoint is plain http (an S3-compatible server; AWS itself is https). */
  async signRead(read: ObjectRead): Promise<SignedRead | undefined> {
    const { endpoint, forcePathStyle, region } = this.config;
    if (endpoint === undefined) return undefined;
    const credentials = await this.client.config.credentials();
    return signS3Read({ endpoint, pathStyle: forcePathStyle ?? false, bucket: this.bucket, region, ...credentials }, read);
  }

  async listPage({ prefix, cursor, pageSize, signal }: ListRequest): Promise<ListPage> {
    const request = new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: cursor, MaxKeys: pageSize });
    const page = await this.client.send(request, { abortSignal: signal });
    // A listing carries no user metadata or checksums (S3 does not return them).
    const objects = (page.Contents ?? []).map((object) =>
      describeS3Object(object.Key ?? '', { size: object.Size ?? 0, etag: object.ETag, lastModified: object.LastModified, storageClass: object.StorageClass }),
    );
    return { objects, cursor: this.listCursor(prefix, page.IsTruncated, page.NextContinuationToken) };
  }

  async deleteObject({ name, signal }: ObjectRequest): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: name }), { abortSignal: signal });
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  protected readFailure(error: unknown) {
    return readS3Failure(error);
  }

  protected async headFields({ name, signal }: ObjectRequest): Promise<S3ObjectFields> {
    const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: name, ChecksumMode: 'ENABLED' }), { abortSignal: signal });
    return {
      size: head.ContentLength ?? 0,
      etag: head.ETag,
      lastModified: head.LastModified,
      metadata: head.Metadata,
      checksumCrc32c: head.ChecksumCRC32C,
      checksumType: head.ChecksumType,
      serverSideEncryption: head.ServerSideEncryption,
      storageClass: head.StorageClass,
    };
  }

  protected async sendAbort(upload: MultipartUpload): Promise<void> {
    await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: upload.name, UploadId: upload.id }));
  }

  protected async sendDeleteBatch({ names, signal }: BatchDelete) {
    const request = new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: names.map((name) => ({ Key: name })), Quiet: true } });
    return (await this.client.send(request, { abortSignal: signal })).Errors ?? [];
  }

  protected async bucketExists(signal?: AbortSignal): Promise<boolean> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }), { abortSignal: signal });
      return true;
    } catch (error) {
      if (this.mapError(error, {}).code === 'NOT_FOUND') return false;
      throw error;
    }
  }

  protected async uploadsPage(marker: S3UploadsPage['next']): Promise<S3UploadsPage> {
    const request = new ListMultipartUploadsCommand({ Bucket: this.bucket, KeyMarker: marker?.keyMarker, UploadIdMarker: marker?.uploadIdMarker });
    const page = await this.client.send(request);
    return {
      uploads: (page.Uploads ?? []).filter((u) => u.Key && u.UploadId).map((u) => ({ name: u.Key!, id: u.UploadId!, startedAt: u.Initiated })),
      next: page.IsTruncated ? { keyMarker: page.NextKeyMarker ?? '', uploadIdMarker: page.NextUploadIdMarker ?? '' } : undefined,
    };
  }

  #objectParams(name: string, metadata: Record<string, string>, checksums: Partial<Checksums>) {
    const { sse, kmsKeyId, storageClass } = this.config;
    return {
      Bucket: this.bucket,
      Key: name,
      ContentType: 'application/octet-stream',
      Metadata: withChecksumMetadata(metadata, checksums),
      ...(sse !== undefined && { ServerSideEncryption: sse as ServerSideEncryption }),
      ...(kmsKeyId !== undefined && { SSEKMSKeyId: kmsKeyId }),
      ...(storageClass !== undefined && { StorageClass: storageClass as StorageClass }),
    };
  }
}
