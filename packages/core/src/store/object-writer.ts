import { ChecksumAccumulator, assertDeclaredChecksums } from '../checksums/checksums.js';
import type { Checksums, ObjectDescription, PutBody, PutOptions } from '../contracts/cold-store.js';
import type { ColdStoreDriver, UploadedPart, WriteReceipt } from '../driver/cold-store-driver.js';
import { isColdStoreError, type ColdStoreError } from '../errors/cold-store-error.js';
import { aborted, bodyFailure, tooManyParts } from '../errors/factories.js';
import { throwIfAborted } from '../errors/signals.js';
import type { PendingAborts } from '../multipart/pending-aborts.js';
import { retrying, type RetryPolicy } from '../retry/retry-policy.js';
import { uploadBoundedParts } from '../streams/bounded-part-uploads.js';
import type { ConditionalWrites } from './conditional-writes.js';
import { PartBuffers, type WholeBodyBuffers } from './part-buffers.js';
import { PartReader, type BodyPart } from './part-reader.js';

/** What the write path needs from the store it runs for. */
export interface WriterContext {
  /** The store's driver, behind its retry, metrics and error-mapping layers. */
  readonly driver: ColdStoreDriver;
  readonly retry: RetryPolicy;
  readonly pendingAborts: PendingAborts;
  readonly conditional: ConditionalWrites;
  /** The store's whole-body buffers, reused from put to put. */
  readonly wholeBodies: WholeBodyBuffers;
}

/** A put whose key and options have been checked. */
export interface WriteJob {
  key: string;
  name: string;
  body: PutBody;
  options: PutOptions;
}

/**
 * Core's one write path, for every backend. Reads the body once (hashing each byte once),
 * then stores it in one request when it is shorter than a part, else as a multipart write with
 * at most `partsInFlight` parts in flight. The caller's declared size and checksums are
 * enforced before anything becomes visible. An abort is honoured up to the commit request and
 * never after it: a commit whose answer was lost may have landed, so an aborted put could
 * otherwise report ABORTED for an object that exists. A failed multipart write is aborted on
 * the server (or remembered and aborted later).
 */
export async function writeObject(context: WriterContext, job: WriteJob): Promise<ObjectDescription> {
  const { driver } = context;
  const { key, name, options } = job;
  const { partSize, partsInFlight } = driver.limits;
  throwIfAborted(options.signal, driver.backend, key);
  // Earlier failed puts' aborts, waited for no longer than a caller's abort would be.
  await context.pendingAborts.retry({ waitMs: context.retry.abortCleanupWaitMs });
  if (options.ifNoneMatch) await context.conditional.beforeCreateOnly(key, name, options.signal);

  const digest = new ChecksumAccumulator({ chunkSize: options.crc32cChunkSize });
  const reader = new PartReader(job.body, {
    backend: driver.backend,
    key,
    partSize,
    buffers: new PartBuffers(partSize, partsInFlight + 1),
    wholeBodies: context.wholeBodies,
    digest,
    declaredSize: options.size,
    // A local file up to the memory bound goes in one request: a multipart write of a few parts
    // costs two more requests and the server's assembly (rclone's cutoff is 200 MiB).
    wholeBodyMax: partSize * (partsInFlight + 1),
    signal: options.signal,
    onProgress: options.onProgress,
  });
  try {
    const first = (await reader.next())!;
    const receipt = first.last ? await writeSingle(context, job, first, digest) : await writeMultipart(context, job, reader, first, digest);
    return {
      key,
      size: digest.bytes,
      etag: receipt.etag,
      lastModified: receipt.lastModified,
      checksums: digest.digest(),
      metadata: { ...options.metadata },
      serverSideEncryption: receipt.serverSideEncryption,
      storageClass: receipt.storageClass,
      ...(options.crc32cChunkSize !== undefined && { chunks: digest.chunks() }),
    };
  } catch (error) {
    if (isColdStoreError(error)) throw error;
    // uploadBoundedParts rethrows the signal's own reason; a body may throw anything.
    if (options.signal?.aborted) throw aborted(driver.backend, key, error);
    throw bodyFailure(driver.backend, key, error);
  } finally {
    reader.close();
  }
}

async function writeSingle(context: WriterContext, job: WriteJob, part: BodyPart, digest: ChecksumAccumulator): Promise<WriteReceipt> {
  const { key, name, options } = job;
  const checksums = digest.digest();
  assertDeclaredChecksums(context.driver.backend, key, options.checksums, checksums);
  throwIfAborted(options.signal, context.driver.backend, key);
  const write = { key, name, body: part.body, checksums, metadata: { ...options.metadata }, ifNoneMatch: options.ifNoneMatch === true };
  return commit(context, job, part.body.byteLength, checksums, () => context.driver.putObject(write));
}

async function writeMultipart(
  context: WriterContext,
  job: WriteJob,
  reader: PartReader,
  first: BodyPart,
  digest: ChecksumAccumulator,
): Promise<WriteReceipt> {
  const { driver } = context;
  const { key, name, options } = job;
  const metadata = { ...options.metadata };
  const ifNoneMatch = options.ifNoneMatch === true;
  // Created without the caller's signal: an abort that raced the answer would leave an upload
  // open on the server that this put could not name, let alone abort.
  const upload = await driver.createMultipart({ key, name, metadata, ifNoneMatch, declared: options.checksums ?? {}, size: options.size });
  try {
    throwIfAborted(options.signal, driver.backend, key);
    const { maxParts } = driver.limits;
    const parts = await uploadBoundedParts<UploadedPart, BodyPart>(reader.rest(first), {
      queueSize: driver.limits.partsInFlight,
      signal: options.signal,
      upload: async (part, number, signal) => {
        try {
          if (maxParts !== undefined && number > maxParts) throw tooManyParts(driver.backend, key, maxParts, driver.limits.partSize);
          return await driver.uploadPart({ upload, number, body: part.body, crc32c: part.crc32c, signal });
        } finally {
          if (part.buffer) reader.release(part.buffer);
        }
      },
    });
    const checksums = digest.digest();
    assertDeclaredChecksums(driver.backend, key, options.checksums, checksums);
    throwIfAborted(options.signal, driver.backend, key);
    return await commit(context, job, digest.bytes, checksums, () =>
      driver.completeMultipart({ upload, parts, size: digest.bytes, checksums, metadata, ifNoneMatch }),
    );
  } catch (error) {
    // A caller who aborted is answered within abortCleanupWaitMs even when the server no
    // longer answers (its requests end only at their socket timeout, for every retry): the
    // upload's abort then goes on, remembered, and is finished by a later put, close() or
    // abortStaleUploads (docs/ARCHITECTURE.md, "The write path and its layers").
    await context.pendingAborts.abort(upload, { waitMs: options.signal?.aborted ? context.retry.abortCleanupWaitMs : undefined });
    throw error;
  }
}

/**
 * Sends a commit (the single put, or the multipart completion), retrying retryable failures,
 * and never gives up on it because of the caller's signal. When an attempt's answer was lost
 * (a reset after the request went out) and a later attempt or the last one fails, the object
 * may still have landed from the earlier one: if the key now holds exactly these bytes (size
 * and CRC32C), the commit succeeded and the put reports success.
 */
async function commit(context: WriterContext, job: WriteJob, size: number, checksums: Checksums, send: () => Promise<WriteReceipt>): Promise<WriteReceipt> {
  let attempts = 0;
  try {
    return await retrying(context.retry, 'commit', job.key, undefined, () => {
      attempts++;
      return send();
    });
  } catch (error) {
    if (attempts > 1 || mayHaveLanded(error)) {
      const stored = await context.driver.headObject({ key: job.key, name: job.name }).catch(() => null);
      if (stored && stored.size === size && stored.checksums.crc32c === checksums.crc32c) {
        return { etag: stored.etag, lastModified: stored.lastModified, serverSideEncryption: stored.serverSideEncryption, storageClass: stored.storageClass };
      }
    }
    throw error;
  }
}

/** A failure after which the server may or may not have acted on the request. */
function mayHaveLanded(error: unknown): boolean {
  return isColdStoreError(error, 'UNAVAILABLE') && (error as ColdStoreError).retryable;
}
