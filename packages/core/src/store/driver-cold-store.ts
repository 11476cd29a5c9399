import type { Readable } from 'node:stream';
import { describeInvalidMetadata } from '../checksums/object-metadata.js';
import type { BodySink, ByteRange, ColdStore, ColdStoreCapabilities, DeleteOptions, GetOptions, HeadOptions, ListOptions, ObjectDescription, PutBody, PutOptions } from '../contracts/cold-store.js';
import { DEFAULT_IDLE_TIMEOUT_MS, type ColdStoreDriver, type OpenUpload, type SignedRead, type StoredObject } from '../driver/cold-store-driver.js';
import { isColdStoreError } from '../errors/cold-store-error.js';
import { aborted, checksumMismatch, invalidKey, invalidRange, unavailable, unrecognizedFailure } from '../errors/factories.js';
import { throwIfAborted } from '../errors/signals.js';
import { toContractError } from '../layers/error-mapping-layer.js';
import { layeredDriver, storeLayer } from '../layers/layered-driver.js';
import type { DriverLayer } from '../layers/driver-layer.js';
import { PlainHttpClient, PlainHttpError, type PlainResponse } from '../http/plain-get.js';
import { assertValidKey, assertValidPrefix, joinKey, maxKeyBytesUnder, RESERVED_KEY_SEGMENT, stripPrefix } from '../keys/object-key.js';
import { InMemoryStoreMetrics } from '../metrics/in-memory-store-metrics.js';
import type { StoreMetrics } from '../metrics/store-metrics.js';
import { PendingAborts } from '../multipart/pending-aborts.js';
import { assertRangeShape } from '../ranges/byte-range.js';
import { parseRetryAfter } from '../retry/retry-after.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../retry/retry-policy.js';
import { ConditionalWrites } from './conditional-writes.js';
import { copyInto } from './copy-into.js';
import { guardBody, planRead } from './guarded-body.js';
import { WholeBodyBuffers } from './part-buffers.js';
import { writeObject, type WriterContext } from './object-writer.js';
import type { StoreContext } from './store-context.js';

/** Single deletes in flight at once, where a driver has no batch delete or the server refused it. */
const DELETE_CONCURRENCY = 16;
const BASE64_CRC32C = /^[A-Za-z0-9+/]{6}==$/;
const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;

export interface DriverStoreOptions extends StoreContext {
  /** Object names are `<prefix>/<key>`; `''` for none. Normalised (see `normalizePrefix`). */
  prefix?: string | undefined;
}

/**
 * The one ColdStore of every backend: core runs each operation (checks → retry → metrics →
 * the backend's driver) and the backend supplies only its driver. Whichever door builds it
 * (`provider.create`, the container, a TransferPool worker), it is this same stack. See
 * docs/ARCHITECTURE.md.
 */
export class DriverColdStore<Driver extends ColdStoreDriver = ColdStoreDriver> implements ColdStore {
  readonly backend: string;
  /** The backend's driver as it was given (its requests bypass the layers: for tests and repair tools). */
  readonly driver: Driver;
  /** Where this store's requests are counted. */
  readonly metrics: StoreMetrics;
  readonly prefix: string;
  readonly #driver: ColdStoreDriver;
  readonly #retry: RetryPolicy;
  readonly #maxKeyBytes: number;
  readonly #pendingAborts: PendingAborts;
  readonly #conditional: ConditionalWrites;
  readonly #writer: WriterContext;
  /** The request stack as one layer, for the plain reads this store sends itself. */
  readonly #layer: DriverLayer;
  readonly #plain = new PlainHttpClient();
  #containerSeen = false;
  #batchDeleteRefused = false;

  constructor(driver: Driver, options: DriverStoreOptions = {}) {
    this.backend = driver.backend;
    this.driver = driver;
    this.prefix = options.prefix ?? '';
    this.metrics = options.metrics ?? new InMemoryStoreMetrics();
    this.#retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.#driver = layeredDriver(driver, { retry: this.#retry, metrics: this.metrics });
    this.#maxKeyBytes = maxKeyBytesUnder(this.prefix, driver.limits.maxNameBytes);
    this.#pendingAborts = new PendingAborts((upload) => this.#driver.abortMultipart(upload));
    this.#conditional = new ConditionalWrites(this.#driver, this.prefix);
    this.#writer = { driver: this.#driver, retry: this.#retry, pendingAborts: this.#pendingAborts, conditional: this.#conditional, wholeBodies: new WholeBodyBuffers() };
    this.#layer = storeLayer(driver, { retry: this.#retry, metrics: this.metrics });
    this.readInto = driver.readInto || driver.signRead ? (key, sink, options) => this.#readInto(key, sink, options) : undefined;
  }

  /** What this store does; `conditionalWrites` and `maxDeleteBatch` reflect what it has learnt. */
  get capabilities(): ColdStoreCapabilities {
    const { limits, features } = this.#driver;
    const batch = this.#driver.deleteBatch !== undefined && !this.#batchDeleteRefused;
    const memoryBoundBytes = limits.partSize * (limits.partsInFlight + 1);
    return {
      sha256OnHead: features.sha256OnHead,
      serverVerifiesCrc32c: features.serverVerifiesCrc32c,
      maxKeyBytes: this.#maxKeyBytes,
      maxDeleteBatch: batch ? (limits.maxDeleteBatch ?? 1) : 1,
      partSize: limits.partSize,
      memoryBoundBytes,
      conditionalWrites: this.#conditional.mode,
      // A local file up to the memory bound is one request already (object-writer.ts).
      ...(features.checksumsFirst && { checksumsFirstFrom: memoryBoundBytes + 1 }),
    };
  }

  /** Bytes per part of a multipart write. */
  get partSize(): number {
    return this.#driver.limits.partSize;
  }

  async put(key: string, body: PutBody, options: PutOptions = {}): Promise<ObjectDescription> {
    const name = this.#name(key);
    this.#assertPutOptions(key, options);
    return writeObject(this.#writer, { key, name, body, options });
  }

  async get(key: string, options: GetOptions = {}): Promise<Readable> {
    const name = this.#name(key);
    const { range, signal } = options;
    if (range) assertRangeShape(this.backend, key, range);
    throwIfAborted(signal, this.backend, key);
    const opened = await this.#driver.getObject({ key, name, range, signal });
    return guardBody(opened, {
      backend: this.backend,
      key,
      range,
      signal,
      mapError: (error) => toContractError(this.#driver, error, { key, signal }),
      onBytes: (bytes) => this.metrics.recordBytes(this.backend, 'down', bytes),
      idleTimeoutMs: this.#driver.limits.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    });
  }

  /**
   * Present when the driver reads into a sink itself (`readInto`: a local filesystem) or signs
   * reads (`signRead`): a plain `http:` read goes out on the store's own lean client and lands in
   * `sink`'s memory; anything else (an `https:` endpoint, an answer other than the exact bytes
   * asked for) is read through `get` and copied into `sink`.
   */
  readonly readInto: ((key: string, sink: BodySink, options?: GetOptions) => Promise<void>) | undefined;

  async #readInto(key: string, sink: BodySink, options: GetOptions = {}): Promise<void> {
    const name = this.#name(key);
    const { range, signal } = options;
    if (range) assertRangeShape(this.backend, key, range);
    throwIfAborted(signal, this.backend, key);
    if (this.#driver.readInto) return this.#counted(sink, (counting) => this.#driver.readInto!({ key, name, range, signal }, counting));
    const signed = await this.driver.signRead!({ key, name, range, signal }).catch((error: unknown) => {
      throw toContractError(this.driver, error, { key, signal });
    });
    if (signed && PlainHttpClient.accepts(signed.url)) {
      const response = await this.#layer({ operation: 'getObject', key, signal, retryable: true }, () => this.#sendPlain(key, signed, signal));
      if (this.#takesWhole(response, key, range)) return this.#counted(sink, (counting, received) => this.#readPlainBody(key, response, counting, received, signal));
      // Not exactly the bytes asked for (an error, a whole object for a range): `get` decides what it means.
      response.discard();
      // A server that asked for a pause (503, 429 with Retry-After) gets it before `get` asks again.
      const pause = response.status === 503 || response.status === 429 ? parseRetryAfter(response.headers.get('retry-after') ?? '') : undefined;
      if (pause !== undefined) await this.#retry.sleep(Math.min(pause, this.#retry.maxDelayMs), signal);
    }
    return copyInto(await this.get(key, options), sink);
  }

  /**
   * Runs a read into `sink`, counting its bytes down; an error the sink itself threw is passed
   * on as it is, never as the store's (a full local disk is not the server's failure).
   */
  async #counted(sink: BodySink, read: (counting: BodySink, received: () => number) => Promise<void>): Promise<void> {
    let received = 0;
    let sinkFailure: { error: unknown } | undefined;
    const guarded = <T>(call: () => T): T => {
      try {
        const result = call();
        if (!(result instanceof Promise)) return result;
        return result.catch((error: unknown) => {
          sinkFailure ??= { error };
          throw error;
        }) as T;
      } catch (error) {
        sinkFailure ??= { error };
        throw error;
      }
    };
    const counting: BodySink = {
      space: () => guarded(() => sink.space()),
      filled: (bytes) => {
        received += bytes;
        return guarded(() => sink.filled(bytes));
      },
    };
    try {
      await read(counting, () => received);
    } catch (error) {
      throw sinkFailure ? sinkFailure.error : error;
    } finally {
      this.metrics.recordBytes(this.backend, 'down', received);
    }
  }

  async #sendPlain(key: string, signed: SignedRead, signal: AbortSignal | undefined): Promise<PlainResponse> {
    try {
      return await this.#plain.get(signed, signal);
    } catch (error) {
      if (signal?.aborted) throw aborted(this.backend, key, signal.reason);
      if (error instanceof PlainHttpError) throw unavailable(this.backend, key, `the read's connection failed (${error.code}): ${error.message}`, error);
      throw error;
    }
  }

  /** Whether the answer is every byte asked for and nothing else (a 200 for the whole object, a 206 for exactly the range). */
  #takesWhole(response: PlainResponse, key: string, range: ByteRange | undefined): boolean {
    if ((response.status !== 200 && response.status !== 206) || response.contentLength === undefined) return false;
    try {
      const plan = planRead({ status: response.status, contentLength: response.contentLength, contentRange: response.headers.get('content-range') }, { backend: this.backend, key, range });
      return plan.skip === 0 && plan.take === response.contentLength;
    } catch {
      return false;
    }
  }

  async #readPlainBody(key: string, response: PlainResponse, sink: BodySink, received: () => number, signal: AbortSignal | undefined): Promise<void> {
    try {
      await response.readBody(sink, signal);
    } catch (error) {
      if (signal?.aborted) throw aborted(this.backend, key, signal.reason);
      if (error instanceof PlainHttpError) {
        throw unavailable(this.backend, key, `the connection broke after ${received()} of ${response.contentLength} bytes of the body: ${error.message}`, error);
      }
      throw error;
    }
  }

  async head(key: string, options: HeadOptions = {}): Promise<ObjectDescription | null> {
    const name = this.#name(key);
    throwIfAborted(options.signal, this.backend, key);
    const stored = await this.#driver.headObject({ key, name, signal: options.signal });
    if (stored) return this.#describe(key, stored);
    // A 404 cannot tell a missing object from a missing bucket: ask once which it is.
    if (!this.#containerSeen && this.#driver.assertContainer) {
      await this.#driver.assertContainer(options.signal);
      this.#containerSeen = true;
    }
    return null;
  }

  async delete(keys: string | readonly string[], options: DeleteOptions = {}): Promise<void> {
    const list = typeof keys === 'string' ? [keys] : [...keys];
    const names = list.map((key) => this.#name(key));
    const { signal } = options;
    throwIfAborted(signal, this.backend, list.length === 1 ? list[0] : undefined);
    if (list.length === 1) return this.#driver.deleteObject({ key: list[0]!, name: names[0]!, signal });
    const batchSize = this.capabilities.maxDeleteBatch;
    if (batchSize <= 1) return this.#deleteEach(list, names, signal);
    for (let start = 0; start < names.length; start += batchSize) {
      const batch = { keys: list.slice(start, start + batchSize), names: names.slice(start, start + batchSize) };
      // Refused by an earlier slice of this same delete: the rest go one by one at once.
      if (this.#batchDeleteRefused) {
        await this.#deleteEach(batch.keys, batch.names, signal);
        continue;
      }
      try {
        await this.#driver.deleteBatch!({ names: batch.names, signal });
      } catch (error) {
        // A server that refuses the batch request itself (an unrecognised 400, 405 or 501)
        // gets single deletes, and is remembered as one that takes no batches.
        if (!isColdStoreError(error, 'UNAVAILABLE') || error.retryable) throw error;
        await this.#deleteEach(batch.keys, batch.names, signal);
        this.#batchDeleteRefused = true;
      }
    }
  }

  async *list(prefix: string, options: ListOptions = {}): AsyncIterable<ObjectDescription> {
    assertValidPrefix(this.backend, prefix, this.#maxKeyBytes);
    const { signal, pageSize } = options;
    // Servers read other values their own ways: S3 lists nothing for 0, Azure one page of 1 for 1.5.
    if (pageSize !== undefined && (!Number.isSafeInteger(pageSize) || pageSize <= 0)) {
      throw invalidRange(this.backend, prefix, `pageSize must be a positive integer, got ${String(pageSize)}`);
    }
    // A server that hands back a continuation token it gave before would have the listing
    // repeat its pages for ever: every token is remembered, and one seen again is refused.
    const cursors = new Set<string>();
    let cursor: string | undefined;
    do {
      throwIfAborted(signal, this.backend);
      const page = await this.#driver.listPage({ key: prefix, prefix: joinKey(this.prefix, prefix), cursor, pageSize, signal });
      if (page.cursor !== undefined && cursors.has(page.cursor)) {
        throw unrecognizedFailure(this.backend, prefix || undefined, `the listing's page ${cursors.size + 1} named continuation token ${JSON.stringify(page.cursor.slice(0, 80))} again, after the server had already answered it: the listing would never end`);
      }
      for (const object of page.objects) {
        const key = stripPrefix(this.prefix, object.name);
        if (key === undefined || key === '' || key === RESERVED_KEY_SEGMENT || key.startsWith(`${RESERVED_KEY_SEGMENT}/`)) continue;
        yield this.#describe(key, object);
      }
      cursor = page.cursor;
      if (cursor !== undefined) cursors.add(cursor);
    } while (cursor !== undefined);
  }

  /**
   * Multipart writes open on the server under this store's prefix: what a failed put must not
   * leave, and what `abortStaleUploads` repairs. Backends that cannot list them server-side
   * (GCS sessions) report the ones this store opened and has not closed.
   */
  async openUploads(): Promise<OpenUpload[]> {
    if (!this.#driver.listOpenUploads) return [];
    const prefix = this.prefix === '' ? '' : `${this.prefix}/`;
    return (await this.#driver.listOpenUploads(prefix)).map((upload) => ({ ...upload, key: stripPrefix(this.prefix, upload.name) ?? upload.name }));
  }

  /**
   * The repair of leftover writes: aborts the open multipart writes under this store's prefix
   * started more than `olderThanMs` ago (a crashed writer's), and retries the aborts this store
   * could not make. Younger ones may belong to a live writer and are left alone, as are those
   * whose start the server does not report, unless `olderThanMs` is 0. Returns how many it ended.
   */
  async abortStaleUploads(olderThanMs: number): Promise<number> {
    let ended = await this.#pendingAborts.retry();
    const cutoff = Date.now() - olderThanMs;
    for (const upload of await this.openUploads()) {
      const started = upload.startedAt?.getTime();
      if (olderThanMs > 0 && (started === undefined || started > cutoff)) continue;
      await this.#driver.abortMultipart(upload);
      ended++;
    }
    return ended;
  }

  /** Aborts what it still can of the uploads it failed to abort, then releases the client. */
  async close(): Promise<void> {
    await this.#pendingAborts.retry();
    this.#plain.close();
    await this.#driver.close();
  }

  async #deleteEach(keys: readonly string[], names: readonly string[], signal: AbortSignal | undefined): Promise<void> {
    let next = 0;
    const lane = async () => {
      while (next < names.length) {
        const i = next++;
        throwIfAborted(signal, this.backend, keys[i]);
        await this.#driver.deleteObject({ key: keys[i]!, name: names[i]!, signal });
      }
    };
    await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, names.length) }, lane));
  }

  #describe(key: string, stored: StoredObject): ObjectDescription {
    return {
      key,
      size: stored.size,
      etag: stored.etag,
      lastModified: stored.lastModified,
      checksums: stored.checksums,
      metadata: stored.metadata,
      serverSideEncryption: stored.serverSideEncryption,
      storageClass: stored.storageClass,
    };
  }

  /** The object name of `key`: `INVALID_KEY` before any request. */
  #name(key: string): string {
    assertValidKey(this.backend, key, this.#maxKeyBytes);
    return joinKey(this.prefix, key);
  }

  /** Options that cannot describe a body are refused before any byte is read. */
  #assertPutOptions(key: string, options: PutOptions): void {
    const metadataProblem = describeInvalidMetadata(options.metadata);
    if (metadataProblem !== undefined) throw invalidKey(this.backend, key, `invalid user metadata: ${metadataProblem}`);
    const { size, checksums, crc32cChunkSize } = options;
    if (size !== undefined && (!Number.isSafeInteger(size) || size < 0)) {
      throw checksumMismatch(this.backend, key, `a declared size must be a non-negative integer, got ${String(size)}`);
    }
    if (checksums?.crc32c !== undefined && !BASE64_CRC32C.test(checksums.crc32c)) {
      throw checksumMismatch(this.backend, key, `a declared crc32c must be 4 bytes in base64, got ${JSON.stringify(checksums.crc32c)}`);
    }
    if (checksums?.sha256 !== undefined && !HEX_SHA256.test(checksums.sha256)) {
      throw checksumMismatch(this.backend, key, `a declared sha256 must be 64 hex digits, got ${JSON.stringify(checksums.sha256)}`);
    }
    if (crc32cChunkSize !== undefined && (!Number.isSafeInteger(crc32cChunkSize) || crc32cChunkSize <= 0)) {
      throw invalidRange(this.backend, key, `crc32cChunkSize must be a positive integer, got ${String(crc32cChunkSize)}`);
    }
  }
}
