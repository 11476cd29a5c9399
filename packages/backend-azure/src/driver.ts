import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { AnonymousCredential, BlobSASPermissions, BlobServiceClient, StorageSharedKeyCredential, type BlobItem, type BlockBlobClient, type ContainerClient, type StoragePipelineOptions } from '@azure/storage-blob';
import { ConfigError, containerMissing, DEFAULT_IDLE_TIMEOUT_MS, httpRangeHeader, withChecksumMetadata, type SignedRead, type BatchDelete, type ColdStoreDriver, type ColdStoreError, type DriverFeatures, type DriverLimits, type ErrorContext, type ListPage, type ListRequest, type MultipartCompletion, type MultipartStart, type MultipartUpload, type ObjectRead, type ObjectRequest, type ObjectWrite, type OpenedObject, type OpenUpload, type PartWrite, type StoredObject, type UploadedPart, type WriteReceipt } from '@takhin/core';
import { describeBlob } from './blob-description.js';
import { AZURE_CONFIG_PATH, blockSizeBytes, type AzureConfig } from './config.js';
import { BACKEND, azureErrorCode, toColdStoreError } from './errors.js';
import { encodeMetadata } from './metadata-names.js';

/** Azure's limit of sub-requests in one Blob Batch request. */
const MAX_BATCH = 256;
const CONTENT_TYPE = 'application/octet-stream';
const MIB = 1024 * 1024;
/** Before any blob was written: every committed blob was modified since (see `abortMultipart`). */
const NO_COMMITTED_VERSION_SINCE = new Date('2000-01-01T00:00:00Z');
/** How long a read's SAS is valid: the read starts at once; a retry signs again. */
const SIGNED_READ_VALIDITY_MS = 15 * 60 * 1000;

/** One SDK client for the configured credentials; SDK retries off (core's retry layer retries). */
function containerClient(config: AzureConfig): ContainerClient {
  const options: StoragePipelineOptions = { retryOptions: { maxTries: 1 } };
  let service: BlobServiceClient;
  try {
    if (config.connectionString !== undefined) service = BlobServiceClient.fromConnectionString(config.connectionString, options);
    else if (config.accountKey !== undefined) {
      service = new BlobServiceClient(config.accountUrl!, new StorageSharedKeyCredential(config.accountName!, config.accountKey), options);
    } else {
      const sas = config.sasToken === undefined ? '' : `?${config.sasToken.replace(/^\?/, '')}`;
      service = new BlobServiceClient(`${config.accountUrl!.replace(/\/+$/, '')}${sas}`, new AnonymousCredential(), options);
    }
  } catch (error) {
    // What parseAzureConfig could not foresee (an account key that is not base64, say).
    const which = config.connectionString !== undefined ? 'connectionString' : 'accountKey';
    throw new ConfigError(`${AZURE_CONFIG_PATH}.${which}`, `the Azure SDK cannot use it: ${error instanceof Error ? error.message : String(error)}`);
  }
  return service.getContainerClient(config.container);
}

/**
 * Azure Blob Storage. Bodies shorter than one block go in a single Put Blob; longer ones are
 * staged block by block (MD5 per block, checked by the server) and committed with Put Block
 * List, which also sets the metadata holding both whole-object checksums, so head always has
 * SHA-256 and nothing is visible before the commit.
 */
export class AzureDriver implements ColdStoreDriver {
  readonly backend = BACKEND;
  readonly limits: DriverLimits;
  // Azure keeps no CRC32C of its own: ours lives in metadata, so the server cannot verify it.
  readonly features: DriverFeatures = { sha256OnHead: true, serverVerifiesCrc32c: false, conditionalWrites: 'probe' };
  readonly container: ContainerClient;

  /** `idleTimeoutMs`: how long a request may wait on a silent server (30 s; tests shorten it). */
  constructor(
    readonly config: AzureConfig,
    options: { idleTimeoutMs?: number } = {},
  ) {
    this.container = containerClient(config);
    const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.limits = { maxNameBytes: 1024, partSize: blockSizeBytes(config), partsInFlight: config.concurrency, maxDeleteBatch: MAX_BATCH, idleTimeoutMs };
  }

  /**
   * Runs one SDK request under a deadline: the SDK sets no client-side timeout at all (its
   * `tryTimeoutInMs` is only the server's `timeout=` parameter), so a server that never answers
   * would hold the request for ever. The deadline is the idle timeout, plus as much again per
   * MiB the request sends (a floor of about 34 KiB/s), and ends once the answer's head is in:
   * a body is then core's to watch (guarded-body.ts). Past it the request is aborted and fails
   * `ETIMEDOUT` (UNAVAILABLE, retried), whether or not the SDK heeds the abort (its Blob Batch
   * does not); the caller's own abort stays an abort.
   */
  async #answered<T>(signal: AbortSignal | undefined, send: (signal: AbortSignal) => Promise<T>, bytesSent = 0): Promise<T> {
    const ms = this.limits.idleTimeoutMs! * (1 + Math.ceil(bytesSent / MIB));
    const deadline = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        reject(Object.assign(new Error(`no answer from the server in ${ms} ms`), { code: 'ETIMEDOUT' }));
        deadline.abort();
      }, ms);
    });
    const sent = send(signal ? AbortSignal.any([signal, deadline.signal]) : deadline.signal);
    sent.catch(() => {}); // its late failure, once the deadline has answered
    try {
      return await Promise.race([sent, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  async putObject(write: ObjectWrite): Promise<WriteReceipt> {
    const metadata = encodeMetadata(withChecksumMetadata(write.metadata, write.checksums));
    const response = await this.#answered(undefined, (abortSignal) => this.#blob(write.name).upload(write.body, write.body.byteLength, {
      abortSignal,
      metadata,
      conditions: write.ifNoneMatch ? { ifNoneMatch: '*' } : undefined,
      transactionalContentMD5: createHash('md5').update(write.body).digest(),
      blobHTTPHeaders: { blobContentType: CONTENT_TYPE },
      tier: this.config.storageClass,
    }), write.body.byteLength);
    return { etag: response.etag, lastModified: response.lastModified, storageClass: this.config.storageClass };
  }

  /** Nothing to ask the server: blocks are staged under ids only this write uses. */
  async createMultipart(start: MultipartStart): Promise<MultipartUpload> {
    return { key: start.key, name: start.name, id: randomBytes(8).toString('hex') };
  }

  /**
   * Stages one block. The part's signal is not passed on: Azure (and Azurite) may still store a
   * block whose request the client gave up on, after the abort deleted the blob, leaving an
   * uncommitted blob behind. So an abort waits for the blocks already on their way (at most
   * `concurrency` of them) and only then discards them. Only the deadline of a silent server
   * (`#answered`) ends one early.
   */
  async uploadPart({ upload, number, body, crc32c }: PartWrite): Promise<UploadedPart> {
    const md5 = createHash('md5').update(body).digest();
    await this.#answered(undefined, (abortSignal) => this.#blob(upload.name).stageBlock(blockId(upload.id, number), body, body.byteLength, { abortSignal, transactionalContentMD5: md5 }), body.byteLength);
    return { number, crc32c, size: body.byteLength };
  }

  async completeMultipart({ upload, parts, checksums, metadata, ifNoneMatch }: MultipartCompletion): Promise<WriteReceipt> {
    const response = await this.#answered(undefined, (abortSignal) => this.#blob(upload.name).commitBlockList(
      parts.map((part) => blockId(upload.id, part.number)),
      {
        abortSignal,
        metadata: encodeMetadata(withChecksumMetadata(metadata, checksums)),
        conditions: ifNoneMatch ? { ifNoneMatch: '*' } : undefined,
        blobHTTPHeaders: { blobContentType: CONTENT_TYPE },
        tier: this.config.storageClass,
      },
    ));
    return { etag: response.etag, lastModified: response.lastModified, storageClass: this.config.storageClass };
  }

  /**
   * Discards the blocks a failed write staged, by deleting the blob only while it has no
   * committed version. A committed version is never touched: its next commit, or Azure's weekly
   * clean-up, discards the blocks, and readers never see them. The condition is
   * If-Unmodified-Since a date before any blob existed: a committed blob was modified since and
   * refuses the delete (412) in the same request, while a blob of uncommitted blocks only counts
   * as absent and is deleted. If-None-Match: * (Azure's own "does not exist") is not used:
   * Azurite ignores it on a delete, so a check before the delete left a window in which another
   * writer's commit landed and was deleted, though its put had succeeded. The check stays, to
   * spare the request when a version is there.
   */
  async abortMultipart(upload: MultipartUpload): Promise<void> {
    const blob = this.#blob(upload.name);
    if (await this.#answered(undefined, (abortSignal) => blob.exists({ abortSignal }))) return;
    try {
      await this.#answered(undefined, (abortSignal) => blob.delete({ abortSignal, conditions: { ifUnmodifiedSince: NO_COMMITTED_VERSION_SINCE } }));
    } catch (error) {
      const code = azureErrorCode(error);
      if (code !== 'BlobNotFound' && code !== 'ConditionNotMet') throw error;
    }
  }

  async getObject({ name, range, signal }: ObjectRead): Promise<OpenedObject> {
    // maxRetryRequests 0: the SDK would otherwise silently re-download a broken stream.
    const response = await this.#answered(signal, (abortSignal) => this.#blob(name).download(range?.offset ?? 0, range?.length, { abortSignal, maxRetryRequests: 0 }));
    return {
      body: response.readableStreamBody as Readable,
      status: response._response.status,
      contentRange: response.contentRange,
      contentLength: response.contentLength,
    };
  }

  /**
   * A read core sends itself: the blob's URL with a read-only SAS of a few minutes when the
   * store holds the account key, or its URL as configured (with the configured SAS, if any).
   */
  async signRead({ name, range }: ObjectRead): Promise<SignedRead | undefined> {
    const blob = this.#blob(name);
    const url = blob.credential instanceof StorageSharedKeyCredential
      ? await blob.generateSasUrl({ permissions: BlobSASPermissions.parse('r'), expiresOn: new Date(Date.now() + SIGNED_READ_VALIDITY_MS) })
      : blob.url;
    return { url, headers: range ? { range: httpRangeHeader(range) } : {} };
  }

  async headObject({ name, signal }: ObjectRequest): Promise<StoredObject | null> {
    try {
      return describeBlob(name, await this.#answered(signal, (abortSignal) => this.#blob(name).getProperties({ abortSignal })));
    } catch (error) {
      if (azureErrorCode(error) === 'BlobNotFound') return null;
      throw error;
    }
  }

  async listPage({ prefix, cursor, pageSize, signal }: ListRequest): Promise<ListPage> {
    const page = await this.#answered(signal, (abortSignal) =>
      this.container.listBlobsFlat({ prefix, includeMetadata: true, abortSignal }).byPage({ continuationToken: cursor, maxPageSize: pageSize }).next(),
    );
    if (page.done) return { objects: [] };
    const objects = page.value.segment.blobItems.map((item) => describeBlob(item.name, { ...item.properties, metadata: item.metadata }));
    return { objects, cursor: page.value.continuationToken || undefined };
  }

  async deleteObject({ name, signal }: ObjectRequest): Promise<void> {
    try {
      await this.#answered(signal, (abortSignal) => this.#blob(name).delete({ abortSignal }));
    } catch (error) {
      if (azureErrorCode(error) !== 'BlobNotFound') throw error;
    }
  }

  async deleteBatch({ names, signal }: BatchDelete): Promise<void> {
    const response = await this.#answered(signal, (abortSignal) => this.container.getBlobBatchClient().deleteBlobs(names.map((name) => this.#blob(name)), { abortSignal }));
    const failed = response.subResponses.find((sub) => sub.status >= 300 && sub.errorCode !== 'BlobNotFound');
    if (failed) throw Object.assign(new Error(`a batch delete sub-request failed: ${failed.status} ${failed.errorCode ?? ''}`), { statusCode: failed.status, code: failed.errorCode });
  }

  async assertContainer(signal?: AbortSignal): Promise<void> {
    if (!(await this.#answered(signal, (abortSignal) => this.container.exists({ abortSignal })))) throw containerMissing(BACKEND, 'container', this.config.container);
  }

  /**
   * Blobs under `prefix` that exist only as staged, uncommitted blocks (what a write that failed
   * before its commit could leave). Blocks staged on a blob that has a committed version cannot
   * be told apart from it, and its next commit discards them, so they are not listed.
   */
  async listOpenUploads(prefix: string): Promise<OpenUpload[]> {
    const committed = new Set<string>();
    for (const blob of await this.#everyBlob(prefix, false)) committed.add(blob.name);
    const open: OpenUpload[] = [];
    for (const blob of await this.#everyBlob(prefix, true)) {
      if (!committed.has(blob.name)) open.push({ key: '', name: blob.name, id: blob.name, startedAt: blob.properties.createdOn ?? blob.properties.lastModified });
    }
    return open;
  }

  /** Every blob under `prefix`, page by page, each page under the deadline of a silent server. */
  async #everyBlob(prefix: string, includeUncommitedBlobs: boolean): Promise<BlobItem[]> {
    const blobs: BlobItem[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.#answered(undefined, (abortSignal) =>
        this.container.listBlobsFlat({ prefix, includeUncommitedBlobs, abortSignal }).byPage({ continuationToken: cursor }).next(),
      );
      if (page.done) break;
      blobs.push(...page.value.segment.blobItems);
      cursor = page.value.continuationToken || undefined;
    } while (cursor !== undefined);
    return blobs;
  }

  mapError(error: unknown, context: ErrorContext): ColdStoreError {
    return toColdStoreError(error, this.config.container, context);
  }

  /** Nothing to release: the SDK shares Node's keep-alive pool and holds no handles. */
  async close(): Promise<void> {}

  #blob(name: string): BlockBlobClient {
    return this.container.getBlockBlobClient(name);
  }
}

/** Ids must be equally long within a blob; the write's own prefix keeps concurrent writes apart. */
function blockId(uploadId: string, number: number): string {
  return Buffer.from(`${uploadId}-${String(number).padStart(6, '0')}`).toString('base64');
}
