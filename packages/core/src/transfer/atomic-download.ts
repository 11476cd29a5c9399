import { randomBytes } from 'node:crypto';
import { renameSync } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { assertDeclaredChecksums, type Digests } from '../checksums/checksums.js';
import type { ByteRange, Checksums, ColdStore } from '../contracts/cold-store.js';
import { isColdStoreError } from '../errors/cold-store-error.js';
import { aborted, checksumMismatch, invalidRange, localFileFailure, notFound } from '../errors/factories.js';
import { throwIfAborted } from '../errors/signals.js';
import type { LocalFileOptions } from './file-checksum.js';
import { readIntoSink } from '../store/copy-into.js';
import { BatchedFileSink } from './batched-file-sink.js';
import { readRangesIntoFile } from './ranged-download.js';
import { syncDirectory, syncDirectorySync } from './sync-directory.js';
import type { DownloadResult } from './transfer-task.js';

export interface DownloadToLocalFileOptions extends LocalFileOptions {
  /**
   * The checksums to verify against (a manifest's values). Without them, the ones the store
   * reports for the object are used; a `range` needs them, since stored checksums cover the
   * whole object.
   */
  expected?: Partial<Checksums> | undefined;
  range?: ByteRange | undefined;
  /**
   * fsync the folder after the rename (default true). False: the caller renames the file again
   * and fsyncs the folder itself, which makes this name's survival moot.
   */
  syncDirectory?: boolean | undefined;
  /**
   * Make the file's last steps (truncate, fsync, rename, the folder's fsync) on the calling
   * thread, blocking it between turns of its event loop: for a thread with nothing else to do, a
   * pool worker. Each step through libuv's threadpool costs two thread switches (a small
   * file's download: about a quarter less CPU this way; docs/ARCHITECTURE.md, "The worker pool").
   */
  syncOnThisThread?: boolean | undefined;
  /**
   * The object's size when the caller knows it (a manifest's; without `expected` the store's
   * head reports it). Needed for `streams`.
   */
  size?: number | undefined;
  /**
   * Ranged requests at once for an object of at least `RANGED_DOWNLOAD_FROM` bytes whose size is
   * known (default 1: one request for the whole object).
   */
  streams?: number | undefined;
  /**
   * The temp file's path, from `downloadTempPath(path)`; default a fresh one. The pool chooses it
   * on the main thread, so it can delete the file when the worker writing it dies or is
   * terminated (an abort its backend ignored) and cannot delete it itself.
   */
  temp?: string | undefined;
}

/** Objects at least this large are fetched as ranges when more than one stream is allowed. */
export const RANGED_DOWNLOAD_FROM = 128 * 1024 * 1024;

/**
 * Downloads `key` to `path` so that `path` is either untouched or holds verified bytes: the
 * bytes go to `.<name>.<random>.part` beside it while they are hashed, are checked against the
 * expected checksums (at least one must be known), fsynced, renamed into place, and the folder
 * is fsynced so the rename survives a power cut. A mismatch deletes the temp file and fails
 * with `CHECKSUM_MISMATCH`. Runs on the calling thread; the pool runs it in a worker.
 *
 * Where both checksums are expected (a manifest's, a store's head), SHA-256 alone is computed
 * and compared: bytes with the expected SHA-256 are the ones whose CRC32C was recorded with
 * it, so that CRC32C is theirs, and leaving it out saves about a quarter of the hashing
 * (docs/ARCHITECTURE.md, "The worker pool"). Otherwise both are computed, to be returned.
 */
export async function downloadToLocalFile(
  store: ColdStore,
  key: string,
  path: string,
  options: DownloadToLocalFileOptions = {},
): Promise<DownloadResult> {
  const { signal } = options;
  throwIfAborted(signal, store.backend, key);
  const { expected, size } = await expectedChecksums(store, key, options);
  const crc32cVouched = expected.sha256 !== undefined && expected.crc32c !== undefined;
  const verified = crc32cVouched ? (['sha256'] as const) : (['crc32c', 'sha256'] as const).filter((name) => expected[name] !== undefined);
  if (verified.length === 0) {
    throw checksumMismatch(store.backend, key, 'nothing to verify against: no expected checksums given and none stored');
  }

  const temp = options.temp ?? downloadTempPath(path);
  try {
    const { bytes, digests } = await writeFile(store, key, temp, { ...options, size }, !crc32cVouched);
    const checksums = { sha256: digests.sha256, crc32c: digests.crc32c ?? expected.crc32c! };
    assertDeclaredChecksums(store.backend, key, expected, checksums);
    throwIfAborted(signal, store.backend, key);
    const syncFolder = options.syncDirectory !== false;
    if (options.syncOnThisThread) {
      renameSync(temp, path);
      if (syncFolder) syncDirectorySync(dirname(path));
    } else {
      await rename(temp, path);
      if (syncFolder) await syncDirectory(dirname(path));
    }
    return { key, path, size: bytes, checksums, verified: [...verified] };
  } catch (error) {
    await unlink(temp).catch(() => {}); // absent when get failed before anything was written
    if (isColdStoreError(error)) throw error;
    if (signal?.aborted) throw aborted(store.backend, key, error);
    // What is left is the local side: the folder, the disk, the permissions.
    throw localFileFailure(store.backend, key, path, error);
  }
}

/** A temp file's path beside `path`: `.<name>.<twelve hex digits>.part`. */
export const downloadTempPath = (path: string) => join(dirname(path), `.${basename(path)}.${tempSuffix()}.part`);

/**
 * Twelve hex digits (the pattern reconciliation sweeps, segment-files.ts): a random 48-bit start
 * per thread, counted up per file, so unique among this thread's downloads and, by the random
 * start, everyone else's (the file is created O_EXCL regardless). Drawing random bytes per file
 * cost 30 µs each, a tenth of a small file's download.
 */
const TEMP_SPACE = 2 ** 48;
let tempNext = randomBytes(6).readUIntBE(0, 6);
const tempSuffix = () => {
  const suffix = tempNext.toString(16).padStart(12, '0');
  tempNext = (tempNext + 1) % TEMP_SPACE;
  return suffix;
};

async function expectedChecksums(store: ColdStore, key: string, options: DownloadToLocalFileOptions): Promise<{ expected: Partial<Checksums>; size: number | undefined }> {
  if (options.expected !== undefined) return { expected: options.expected, size: options.size };
  if (options.range !== undefined) {
    throw invalidRange(store.backend, key, 'downloading a range needs options.expected: stored checksums cover the whole object');
  }
  const description = await store.head(key, { signal: options.signal });
  if (description === null) throw notFound(store.backend, key);
  // The caller's size is a promise about the object (a manifest's): the stored one must keep it.
  if (options.size !== undefined && description.size !== options.size) {
    throw checksumMismatch(store.backend, key, `${options.size} bytes expected, the stored object has ${description.size}`);
  }
  return { expected: description.checksums, size: description.size };
}

interface WrittenFile {
  bytes: number;
  digests: Digests;
}

/**
 * The store reads straight into the file's batch buffers (docs/ARCHITECTURE.md, "Plain reads"),
 * or its body stream is copied into them; a large object of known size, with `streams`, as
 * ranges at once (`readRangesIntoFile`).
 */
async function writeFile(store: ColdStore, key: string, temp: string, options: DownloadToLocalFileOptions, crc32c: boolean): Promise<WrittenFile> {
  const { range, signal, onProgress, syncOnThisThread, size, streams = 1 } = options;
  if (range === undefined && size !== undefined && size >= RANGED_DOWNLOAD_FROM && streams > 1) {
    return { bytes: size, digests: await readRangesIntoFile(store, key, temp, { size, streams, signal, onProgress, syncOnThisThread, crc32c }) };
  }
  const sink = await BatchedFileSink.create(temp, { onProgress, syncOnThisThread, crc32c });
  try {
    await readIntoSink(store, key, sink, { range, signal });
    return { bytes: sink.bytes, digests: await sink.finish() };
  } finally {
    await sink.close();
  }
}
