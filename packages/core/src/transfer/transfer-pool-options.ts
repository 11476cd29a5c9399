import { availableParallelism } from 'node:os';
import type { ByteRange, Checksums } from '../contracts/cold-store.js';
import type { StoreMetricsRegistry } from '../metrics/store-metrics.js';

// What a caller may tell the TransferPool and each of its transfers, and the defaults that need
// a reason (docs/ARCHITECTURE.md, "The worker pool").

/**
 * Worker threads a pool runs at most unless told: two per core (`os.availableParallelism()`).
 * A transfer spends part of its time waiting, not computing (for a 16 MiB download from MinIO,
 * 19 of 41 ms: the first byte, the last batches' hashing, the fsyncs, the rename), so one
 * transfer per core leaves the cores idle meanwhile: 64 × 16 MiB from MinIO on 2 cores,
 * 808–864 MB/s with 2 threads, 964–966 with 4 (docs/ARCHITECTURE.md, "The worker pool").
 */
export function defaultPoolThreads(): number {
  return 2 * availableParallelism();
}

/**
 * `checksumFile` tasks a pool runs at once unless told: one per core, and no more than its
 * threads. A checksum never waits on anything but the CPU: 8 files of 128 MiB on 2 cores took
 * 0.53–0.65 s and 1.04–1.24 CPU-s two at a time, 0.57–0.69 s and 1.11–1.32 CPU-s four at a time
 * (docs/ARCHITECTURE.md, "The worker pool").
 */
export function defaultPoolChecksums(maxThreads: number): number {
  return Math.min(maxThreads, availableParallelism());
}

export interface TransferPoolOptions {
  /** Worker threads at most; default `defaultPoolThreads()`, two per core. */
  maxThreads?: number;
  /**
   * `checksumFile` tasks running at once at most, the rest waiting their turn before any thread
   * takes them; default `defaultPoolChecksums(maxThreads)`, one per core.
   */
  maxChecksums?: number;
  /** Threads kept even when idle; default half of `maxThreads` (at least one). */
  minThreads?: number;
  /** How long a thread above `minThreads` stays warm without work; default 60 s. */
  idleTimeoutMs?: number;
  /**
   * After an abort, how long a running task gets to unwind (abort its upload, delete its temp
   * file) before its thread is terminated; default 30 s. Only a backend ignoring its AbortSignal
   * ever reaches it.
   */
  abortGraceMs?: number;
  /**
   * How long `close()` lets the tasks it finds pending (running or queued) finish before it aborts
   * them; default 30 s. See `close`.
   */
  closeGraceMs?: number;
  /** Minimum milliseconds between `onProgress` calls; default 100. */
  progressIntervalMs?: number;
  /**
   * Added to the worker threads' nice value (Linux, via piscina and `@napi-rs/nice`; ignored
   * where unavailable); default 10. Archiving is background work: when CPUs are contended the
   * broker's event loop should win them, so its delay stays in single-digit milliseconds.
   */
  niceIncrement?: number;
  /**
   * Where the requests of the stores the workers build are counted: each task's worker hands
   * back what it counted and the pool merges it here, on the main thread. Default: a registry
   * of the pool's own (`pool.metrics`). Pass the container's `STORE_METRICS` to count
   * everything in one place.
   */
  metrics?: StoreMetricsRegistry;
  /**
   * Ranged requests at once for one download of an object of at least `RANGED_DOWNLOAD_FROM`
   * bytes whose size is known; default `DEFAULT_DOWNLOAD_STREAMS`. 1 fetches every object in
   * one request.
   */
  downloadStreams?: number;
}

export interface CloseOptions {
  /**
   * How long pending tasks get to finish before they are aborted; default the pool's
   * `closeGraceMs`. 0 aborts them at once. A later `close()` may shorten it, never lengthen it.
   */
  graceMs?: number;
}

export interface TransferOptions {
  /** Aborts the task: dropped if still queued, otherwise aborted inside its worker. */
  signal?: AbortSignal;
  /** Called on the main thread with the running byte count, throttled; last with the total. */
  onProgress?: (bytes: number) => void;
}

export interface UploadFileOptions extends TransferOptions {
  /** User metadata stored with the object. */
  metadata?: Record<string, string>;
  /** Create only if absent (`ALREADY_EXISTS` otherwise). */
  ifNoneMatch?: boolean;
  /**
   * Also return `chunks`: the CRC32C of every consecutive `chunkSize`-byte slice of the file
   * (the last may be shorter), computed in the same single hashing pass, for ranged reads
   * verified chunk by chunk.
   */
  chunkSize?: number;
}

export interface ChecksumFileOptions extends TransferOptions {
  /** Also return `chunks`, the CRC32C of every `chunkSize`-byte slice, from the same read. */
  chunkSize?: number;
}

export interface DownloadFileOptions extends TransferOptions {
  /**
   * Checksums to verify against (a manifest's values). Omitted: the ones the store reports for
   * the object. Required with `range`.
   */
  expected?: Partial<Checksums>;
  range?: ByteRange;
  /**
   * fsync the folder after the rename into place, so the file's name survives a power cut
   * (default true). A caller that renames the file again and fsyncs the folder itself (a
   * restore) passes false and saves one fsync per file.
   */
  syncDirectory?: boolean;
  /**
   * The object's size, when the caller knows it (a manifest's; without `expected` the store
   * reports it): an object of at least `RANGED_DOWNLOAD_FROM` bytes is then fetched as ranges,
   * `streams` requests at once, and hashed in order (docs/ARCHITECTURE.md, "The worker pool").
   * An object of another size fails with `CHECKSUM_MISMATCH`.
   */
  size?: number;
  /** Ranged requests at once for this download; default the pool's `downloadStreams`. */
  streams?: number;
}

/**
 * One request per download unless told otherwise. Against the servers here, on loopback, four
 * ranged streams gained nothing on 1 GiB, slowed Azurite's downloads and cost a fifth more client
 * CPU; where one connection is slower than the client (a cloud store over a network), more
 * streams are what the stores' own tools use (docs/ARCHITECTURE.md, "The worker pool").
 */
export const DEFAULT_DOWNLOAD_STREAMS = 1;
