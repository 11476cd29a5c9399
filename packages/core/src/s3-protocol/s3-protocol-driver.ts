import type {
  BatchDelete,
  ColdStoreDriver,
  DriverFeatures,
  DriverLimits,
  ErrorContext,
  ListPage,
  ListRequest,
  MultipartCompletion,
  MultipartStart,
  MultipartUpload,
  ObjectRead,
  ObjectRequest,
  ObjectWrite,
  OpenedObject,
  OpenUpload,
  PartWrite,
  StoredObject,
  UploadedPart,
  WriteReceipt,
} from '../driver/cold-store-driver.js';
import type { ColdStoreError } from '../errors/cold-store-error.js';
import { containerMissing, unrecognizedFailure } from '../errors/factories.js';
import { s3DriverLimits, type S3ProtocolConfig } from './s3-config.js';
import { s3ColdStoreError, type S3Failure } from './s3-errors.js';
import { describeS3Object, s3BatchDeleteFailure, type S3ObjectFields } from './s3-object-fields.js';
import { S3_DEFAULT_STORAGE_CLASS } from './s3-storage-classes.js';

/** One entry of a quiet DeleteObjects answer's errors. */
export interface S3DeleteError {
  Key?: string | undefined;
  Code?: string | undefined;
  Message?: string | undefined;
}

/** One page of ListMultipartUploads, as a client returns it. */
export interface S3UploadsPage {
  uploads: Array<{ name: string; id: string; startedAt?: Date | undefined }>;
  /** Markers for the next page; `undefined` after the last. */
  next?: { keyMarker: string; uploadIdMarker: string } | undefined;
}

/**
 * What every S3-protocol driver shares, whichever client it uses: limits and features, the
 * error table, how a HEAD that found nothing, a gone upload, a quiet batch delete's failures
 * and the bucket-wide upload listing are read. A driver supplies its client's requests and how
 * to read its client's errors (`readFailure`); nothing else is written twice.
 */
export abstract class S3ProtocolDriver implements ColdStoreDriver {
  readonly limits: DriverLimits;
  readonly features: DriverFeatures = { sha256OnHead: false, serverVerifiesCrc32c: true, conditionalWrites: 'probe' };

  constructor(
    readonly backend: string,
    readonly protocolConfig: S3ProtocolConfig,
  ) {
    this.limits = s3DriverLimits(protocolConfig);
  }

  get bucket(): string {
    return this.protocolConfig.bucket;
  }

  abstract putObject(write: ObjectWrite): Promise<WriteReceipt>;
  abstract createMultipart(start: MultipartStart): Promise<MultipartUpload>;
  abstract uploadPart(part: PartWrite): Promise<UploadedPart>;
  abstract completeMultipart(completion: MultipartCompletion): Promise<WriteReceipt>;
  abstract getObject(read: ObjectRead): Promise<OpenedObject>;
  abstract listPage(request: ListRequest): Promise<ListPage>;
  abstract deleteObject(request: ObjectRequest): Promise<void>;
  abstract close(): Promise<void>;

  /** The client's error as the S3 code, status and message it carries. */
  protected abstract readFailure(error: unknown): S3Failure;
  /** HEAD, asking for the full-object checksum (`x-amz-checksum-mode: ENABLED`). */
  protected abstract headFields(request: ObjectRequest): Promise<S3ObjectFields>;
  /** AbortMultipartUpload. */
  protected abstract sendAbort(upload: MultipartUpload): Promise<void>;
  /** One quiet DeleteObjects request; resolves to the answer's per-key errors. */
  protected abstract sendDeleteBatch(batch: BatchDelete): Promise<readonly S3DeleteError[]>;
  /** Whether the bucket exists (HeadBucket); an error for anything but a clear yes or no. */
  protected abstract bucketExists(signal?: AbortSignal): Promise<boolean>;
  /** One page of ListMultipartUploads over the whole bucket. */
  protected abstract uploadsPage(marker: S3UploadsPage['next']): Promise<S3UploadsPage>;

  async headObject(request: ObjectRequest): Promise<StoredObject | null> {
    try {
      return describeS3Object(request.name, await this.headFields(request));
    } catch (error) {
      if (this.mapError(error, {}).code === 'NOT_FOUND') return null;
      throw error;
    }
  }

  async abortMultipart(upload: MultipartUpload): Promise<void> {
    try {
      await this.sendAbort(upload);
    } catch (error) {
      if (this.readFailure(error).code !== 'NoSuchUpload') throw error;
    }
  }

  async deleteBatch(batch: BatchDelete): Promise<void> {
    const failed = s3BatchDeleteFailure(await this.sendDeleteBatch(batch));
    if (failed) {
      const detail = `${failed.message} (object ${JSON.stringify(failed.name)})`;
      throw s3ColdStoreError({ code: failed.code, message: detail }, { backend: this.backend, bucket: this.bucket }, new Error(detail));
    }
  }

  async assertContainer(signal?: AbortSignal): Promise<void> {
    if (!(await this.bucketExists(signal))) throw containerMissing(this.backend, 'bucket', this.bucket);
  }

  /** Uploads open under `prefix`. Listed bucket-wide and filtered: MinIO lists by exact key only. */
  async listOpenUploads(prefix: string): Promise<OpenUpload[]> {
    const open: OpenUpload[] = [];
    let marker: S3UploadsPage['next'];
    do {
      const page = await this.uploadsPage(marker);
      for (const upload of page.uploads) if (upload.name.startsWith(prefix)) open.push({ key: '', ...upload });
      marker = page.next;
    } while (marker !== undefined);
    return open;
  }

  mapError(error: unknown, context: ErrorContext): ColdStoreError {
    return s3ColdStoreError(this.readFailure(error), { backend: this.backend, bucket: this.bucket, key: context.key }, error);
  }

  /**
   * The next page's cursor from a ListObjectsV2 answer. A page marked truncated that names no
   * continuation token (a server answering list-type=2 as the old ListObjects, which names no
   * marker without a delimiter) fails: taken as the end, the listing would stop early and say
   * nothing.
   */
  protected listCursor(prefix: string, truncated: boolean | undefined, token: string | undefined): string | undefined {
    if (!truncated) return undefined;
    if (token) return token;
    throw unrecognizedFailure(this.backend, prefix || undefined, 'the server marked a listing page truncated but named no continuation token: the listing cannot go on, and ending it there would leave objects out');
  }

  /** What a write stored; servers (MinIO) may not echo the encryption a write asked for, or fail on. */
  protected receipt(etag: string | undefined, serverSideEncryption: string | undefined): WriteReceipt {
    return {
      etag,
      serverSideEncryption: serverSideEncryption ?? this.protocolConfig.sse,
      storageClass: this.protocolConfig.storageClass ?? S3_DEFAULT_STORAGE_CLASS,
    };
  }
}
