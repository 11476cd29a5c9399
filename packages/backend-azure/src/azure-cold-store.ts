import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  AnonymousCredential,
  BlobServiceClient,
  StorageSharedKeyCredential,
  type BlockBlobClient,
  type ContainerClient,
  type StoragePipelineOptions,
} from '@azure/storage-blob';
import {
  alreadyExists,
  assertDeclaredChecksums,
  assertRangeShape,
  assertValidKey,
  assertValidMetadata,
  assertValidPrefix,
  DEFAULT_MAX_KEY_BYTES,
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
import { describeBlob } from './blob-description.js';
import { blockSizeBytes, type AzureConfig } from './config.js';
import { BACKEND, azureErrorCode, toColdStoreError } from './errors.js';
import { encodeMetadata } from './metadata-names.js';
import { stageBlocks } from './staged-blocks.js';

/** Azure's limit of sub-requests in one Blob Batch request. */
const MAX_BATCH = 256;
const CONTENT_TYPE = 'application/octet-stream';

/** One SDK client for the configured credentials; SDK retries off (core's RetryingColdStore retries). */
function containerClient(config: AzureConfig): ContainerClient {
  const options: StoragePipelineOptions = { retryOptions: { maxTries: 1 } };
  let service: BlobServiceClient;
  if (config.connectionString !== undefined) service = BlobServiceClient.fromConnectionString(config.connectionString, options);
  else if (config.accountKey !== undefined) {
    service = new BlobServiceClient(config.accountUrl!, new StorageSharedKeyCredential(config.accountName!, config.accountKey), options);
  } else {
    const sas = config.sasToken === undefined ? '' : `?${config.sasToken.replace(/^\?/, '')}`;
    service = new BlobServiceClient(`${config.accountUrl!.replace(/\/+$/, '')}${sas}`, new AnonymousCredential(), options);
  }
  return service.getContainerClient(config.container);
}

/**
 * A ColdStore on Azure Blob Storage. Bodies shorter than one block go in a single Put Blob;
 * longer ones are staged block by block (bounded concurrency, MD5 per block checked by the
 * server) and committed with Put Block List, which also sets the metadata holding both
 * whole-object checksums — so `head` always has SHA-256 and nothing is visible before commit.
 */
export class AzureColdStore implements ColdStore {
  readonly backend = BACKEND;
  readonly capabilities: ColdStoreCapabilities;
  readonly container: ContainerClient;
  readonly #prefix: string;
  readonly #maxKeyBytes: number;
  readonly #blockSize: number;

  constructor(readonly config: AzureConfig) {
    this.container = containerClient(config);
    this.#prefix = config.prefix;
    this.#maxKeyBytes = DEFAULT_MAX_KEY_BYTES - (this.#prefix === '' ? 0 : Buffer.byteLength(this.#prefix) + 1);
    this.#blockSize = blockSizeBytes(config);
    // Azure keeps no CRC32C of its own: ours lives in metadata, so the server cannot verify it.
    this.capabilities = { sha256OnHead: true, serverVerifiesCrc32c: false, maxKeyBytes: this.#maxKeyBytes, maxDeleteBatch: MAX_BATCH };
  }

  /** Bytes per staged block. */
  get blockSize(): number {
    return this.#blockSize;
  }

  /** The most body bytes one put holds: the blocks in flight and the one being filled. */
  get memoryBoundBytes(): number {
    return (this.config.concurrency + 1) * this.#blockSize;
  }

  /**
   * Blobs under the prefix that exist only as staged, uncommitted blocks (what a put that
   * failed before its commit could leave). Readers never see them; Azure discards them after
   * a week. Uncommitted blocks staged on a blob that has a committed version are not listed:
   * they cannot be told apart from it, and its next commit discards them.
   */
  async uncommittedBlobs(): Promise<string[]> {
    const names = async (includeUncommitedBlobs: boolean) => {
      const found = new Set<string>();
      for await (const blob of this.container.listBlobsFlat({ prefix: this.#prefix === '' ? '' : `${this.#prefix}/`, includeUncommitedBlobs })) {
        found.add(blob.name);
      }
      return found;
    };
    const committed = await names(false);
    return [...(await names(true))].filter((name) => !committed.has(name));
  }

  /** Streams `body` to `key`; see ColdStore.put. */
  async put(key: string, body: PutBody, options: PutOptions = {}): Promise<ObjectDescription> {
    const blob = this.#blob(key);
    assertValidMetadata(BACKEND, options.metadata);
    const { signal } = options;
    throwIfAborted(signal, BACKEND, key);
    try {
      return await routePutBody(body, { partSize: this.#blockSize, signal, onProgress: options.onProgress }, {
        single: (bytes, checksums) => this.#putSingle(key, blob, bytes, checksums, options),
        multipart: (blocks, digest) => this.#putStaged(key, blob, blocks, digest, options),
      });
    } catch (error) {
      throw toColdStoreError(error, this.config.container, key, signal);
    }
  }

  /** Opens the blob, or a slice of it, as a stream; see ColdStore.get. */
  async get(key: string, options: GetOptions = {}): Promise<Readable> {
    const blob = this.#blob(key);
    const { range, signal } = options;
    if (range) assertRangeShape(BACKEND, key, range);
    throwIfAborted(signal, BACKEND, key);
    try {
      // maxRetryRequests 0: the SDK would otherwise silently re-download a broken stream.
      const response = await blob.download(range?.offset ?? 0, range?.length, { abortSignal: signal, maxRetryRequests: 0 });
      const stream = response.readableStreamBody as Readable;
      // A valid range holds at least one byte; Azurite answers an empty object's range with
      // 206 and nothing (Azure says 416), and offset 0 sends no Range header at all.
      if (range && response.contentLength === 0) {
        stream.destroy();
        throw invalidRange(BACKEND, key, `offset ${range.offset} is at or past the end of a 0-byte object`);
      }
      return stream;
    } catch (error) {
      throw toColdStoreError(error, this.config.container, key, signal);
    }
  }

  /** The blob's description, or `null`; see ColdStore.head. */
  async head(key: string, options: HeadOptions = {}): Promise<ObjectDescription | null> {
    const blob = this.#blob(key);
    throwIfAborted(options.signal, BACKEND, key);
    try {
      return describeBlob(this.#prefix, blob.name, await blob.getProperties({ abortSignal: options.signal }));
    } catch (error) {
      if (azureErrorCode(error) === 'BlobNotFound') return null;
      throw toColdStoreError(error, this.config.container, key, options.signal);
    }
  }

  /** Deletes keys in Blob Batch requests of up to 256; missing keys are fine; see ColdStore.delete. */
  async delete(keys: string | readonly string[], options: DeleteOptions = {}): Promise<void> {
    const all = typeof keys === 'string' ? [keys] : [...keys];
    const blobs = all.map((key) => this.#blob(key));
    throwIfAborted(options.signal, BACKEND, typeof keys === 'string' ? keys : undefined);
    if (blobs.length === 1) return this.#deleteOne(all[0]!, blobs[0]!, options.signal);
    const batch = this.container.getBlobBatchClient();
    for (let start = 0; start < blobs.length; start += MAX_BATCH) {
      throwIfAborted(options.signal, BACKEND);
      try {
        const response = await batch.deleteBlobs(blobs.slice(start, start + MAX_BATCH), { abortSignal: options.signal });
        const failed = response.subResponses.find((sub) => sub.status >= 300 && sub.errorCode !== 'BlobNotFound');
        if (failed) throw Object.assign(new Error(`a batch delete sub-request failed: ${failed.status} ${failed.errorCode ?? ''}`), { statusCode: failed.status, code: failed.errorCode });
      } catch (error) {
        throw toColdStoreError(error, this.config.container, undefined, options.signal);
      }
    }
  }

  /** Every blob under `prefix`, a page at a time; see ColdStore.list. */
  async *list(prefix: string, options: ListOptions = {}): AsyncIterable<ObjectDescription> {
    assertValidPrefix(BACKEND, prefix, this.#maxKeyBytes);
    const fullPrefix = this.#prefix === '' ? prefix : `${this.#prefix}/${prefix}`;
    const pages = this.container.listBlobsFlat({ prefix: fullPrefix, includeMetadata: true }).byPage({ maxPageSize: options.pageSize });
    for (;;) {
      throwIfAborted(options.signal, BACKEND, prefix);
      let page;
      try {
        page = await pages.next();
      } catch (error) {
        throw toColdStoreError(error, this.config.container, undefined, options.signal);
      }
      if (page.done) return;
      for (const item of page.value.segment.blobItems) {
        if (stripPrefix(this.#prefix, item.name) === undefined) continue;
        yield describeBlob(this.#prefix, item.name, { ...item.properties, metadata: item.metadata });
      }
    }
  }

  /** Nothing to release: the SDK shares Node's keep-alive pool and holds no handles. */
  async close(): Promise<void> {}

  async #putSingle(key: string, blob: BlockBlobClient, bytes: Buffer, actual: Checksums, options: PutOptions): Promise<ObjectDescription> {
    assertDeclaredChecksums(BACKEND, key, options.checksums, actual);
    const metadata = encodeMetadata(withChecksumMetadata(options.metadata, actual));
    const response = await blob.upload(bytes, bytes.byteLength, {
      metadata,
      conditions: options.ifNoneMatch ? { ifNoneMatch: '*' } : undefined,
      transactionalContentMD5: createHash('md5').update(bytes).digest(),
      blobHTTPHeaders: { blobContentType: CONTENT_TYPE },
      abortSignal: options.signal,
    });
    return describeBlob(this.#prefix, blob.name, { contentLength: bytes.byteLength, etag: response.etag, lastModified: response.lastModified, metadata });
  }

  async #putStaged(key: string, blob: BlockBlobClient, blocks: AsyncIterable<Buffer>, digest: StreamedDigest, options: PutOptions): Promise<ObjectDescription> {
    const { signal } = options;
    // Staging blocks against an existing blob only to be refused at commit would waste the
    // upload; the commit's own condition still guards the race.
    if (options.ifNoneMatch && (await blob.exists({ abortSignal: signal }))) throw alreadyExists(BACKEND, key);
    try {
      const ids = await stageBlocks(blob, blocks, this.config.concurrency, signal);
      throwIfAborted(signal, BACKEND, key);
      const actual = digest.checksums;
      assertDeclaredChecksums(BACKEND, key, options.checksums, actual);
      const metadata = encodeMetadata(withChecksumMetadata(options.metadata, actual));
      const response = await blob.commitBlockList(ids, {
        metadata,
        conditions: options.ifNoneMatch ? { ifNoneMatch: '*' } : undefined,
        blobHTTPHeaders: { blobContentType: CONTENT_TYPE },
        abortSignal: signal,
      });
      return describeBlob(this.#prefix, blob.name, { contentLength: digest.bytes, etag: response.etag, lastModified: response.lastModified, metadata });
    } catch (error) {
      await this.#discardStagedBlocks(blob);
      throw error;
    }
  }

  /**
   * Removes the blocks a failed put staged, when the blob has no committed version (deleting
   * it drops them). A committed version is never touched: its next commit, or Azure's weekly
   * clean-up, discards them, and readers never see them. Best effort.
   */
  async #discardStagedBlocks(blob: BlockBlobClient): Promise<void> {
    try {
      if (!(await blob.exists())) await blob.delete();
    } catch {
      // Nothing visible was left either way; `uncommittedBlobs()` reports what remains.
    }
  }

  async #deleteOne(key: string, blob: BlockBlobClient, signal: AbortSignal | undefined): Promise<void> {
    try {
      await blob.delete({ abortSignal: signal });
    } catch (error) {
      const mapped = toColdStoreError(error, this.config.container, key, signal);
      if (!(isColdStoreError(mapped, 'NOT_FOUND') && azureErrorCode(error) === 'BlobNotFound')) throw mapped;
    }
  }

  /** The block blob client for `key` under the prefix; `INVALID_KEY` before any request. */
  #blob(key: string): BlockBlobClient {
    assertValidKey(BACKEND, key, this.#maxKeyBytes);
    return this.container.getBlockBlobClient(joinKey(this.#prefix, key));
  }
}
