import { access } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { Piscina } from 'piscina';
import type { BackendTarget } from '../contracts/backend-provider.js';
import type { ByteRange, Checksums } from '../contracts/cold-store.js';
import { ColdStoreError } from '../errors/cold-store-error.js';
import { describeArgument } from '../reads/read-arguments.js';
import { aborted, unavailable } from '../errors/factories.js';
import { throwIfAborted } from '../errors/signals.js';
import { InMemoryStoreMetrics } from '../metrics/in-memory-store-metrics.js';
import type { StoreMetricsRegistry } from '../metrics/store-metrics.js';
import { downloadTempPath } from './atomic-download.js';
import { resolveBackendModule } from './backend-module.js';
import { TaskControl } from './task-control.js';
import { breakBarrier, createBarrier } from './thread-barrier.js';
import { reviveTransferError, toPoolError, TRANSFER_POOL } from './transfer-error.js';
import type {
  DownloadResult,
  FileChecksums,
  TaskControlHandle,
  TaskOutcome,
  TransferTask,
  UploadResult,
} from './transfer-task.js';

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

export interface TransferPoolOptions {
  /** Worker threads at most; default `defaultPoolThreads()`, two per core. */
  maxThreads?: number;
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

const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
const DEFAULT_ABORT_GRACE_MS = 30_000;
const DEFAULT_CLOSE_GRACE_MS = 30_000;
const DEFAULT_PROGRESS_INTERVAL_MS = 100;
const DEFAULT_NICE_INCREMENT = 10;
/**
 * One request per download unless told otherwise. Against the servers here, on loopback, four
 * ranged streams gained nothing on 1 GiB, slowed Azurite's downloads and cost a fifth more client
 * CPU; where one connection is slower than the client (a cloud store over a network), more
 * streams are what the stores' own tools use (docs/ARCHITECTURE.md, "The worker pool").
 */
export const DEFAULT_DOWNLOAD_STREAMS = 1;
/** Streams one download may use at most: each holds a part buffer of 8 MiB, two more per download (ranged-download.ts). */
const MAX_DOWNLOAD_STREAMS = 16;
/** How long `close()` waits for every worker to take its release task. */
const RELEASE_TIMEOUT_MS = 5_000;
/** How long `warm()` waits for every thread to start and take its task. */
const WARM_TIMEOUT_MS = 10_000;

/**
 * The worker-thread pool that does every byte-heavy job (docs/ARCHITECTURE.md, "The worker
 * pool"): checksumming, uploading and downloading local files. The main thread sends paths and
 * plain `BackendTarget`s and gets back small results; segment bytes never reach it. Each worker
 * builds and caches its own store per target, with the same stack as any other (retries,
 * metrics, checks), and hands back what it counted, merged into `metrics`. Every error a caller
 * sees is a `ColdStoreError` (or a `ConfigError` for a bad target).
 */
export class TransferPool {
  readonly #piscina: Piscina<TransferTask, TaskOutcome<unknown>>;
  readonly #abortGraceMs: number;
  readonly #progressIntervalMs: number;
  readonly #downloadStreams: number;
  readonly #inFlight = new Set<Promise<unknown>>();
  /** Each pending task's abort, for `close()` once its grace is over; told the grace that ran out. */
  readonly #stops = new Set<(graceMs: number) => void>();
  readonly #closeGraceMs: number;
  /** When `close()` aborts what is still pending (`performance.now()` time), and its timer. */
  #closeDeadline: number | undefined;
  #closeTimer: NodeJS.Timeout | undefined;
  /** Every task close() found has settled: nothing is left to abort. */
  #drained = false;
  readonly #modules = new Map<string, string>();
  #closing: Promise<void> | undefined;
  /** Where the workers' store requests are counted (see `TransferPoolOptions.metrics`). */
  readonly metrics: StoreMetricsRegistry;

  constructor(options: TransferPoolOptions = {}) {
    this.metrics = options.metrics ?? new InMemoryStoreMetrics();
    const maxThreads = options.maxThreads ?? defaultPoolThreads();
    this.#abortGraceMs = options.abortGraceMs ?? DEFAULT_ABORT_GRACE_MS;
    this.#closeGraceMs = graceMs(options.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS, 'closeGraceMs');
    this.#progressIntervalMs = options.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS;
    this.#downloadStreams = streamCount(options.downloadStreams ?? DEFAULT_DOWNLOAD_STREAMS, 'downloadStreams');
    const workerFile = new URL('./transfer-worker.js', import.meta.url);
    // libuv's threadpool is shared by the whole process and its threads inherit the nice value
    // of the thread that starts it; start it here, so reniced workers cannot slow the caller's I/O.
    access(workerFile, () => {});
    this.#piscina = new Piscina({
      filename: workerFile.href,
      maxThreads,
      minThreads: Math.min(maxThreads, options.minThreads ?? Math.max(1, Math.floor(maxThreads / 2))),
      idleTimeout: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
      // One task per thread: piscina's abort backstop terminates a whole thread, and close()'s
      // release barrier counts on each thread holding one task.
      concurrentTasksPerWorker: 1,
      // Idle workers keep their event loop running (backend sockets, timers) instead of
      // blocking in Atomics.wait; per-task overhead is nothing next to a segment's bytes.
      atomics: 'disabled',
      niceIncrement: options.niceIncrement ?? DEFAULT_NICE_INCREMENT,
    });
  }

  /** Threads currently running (started or starting). */
  get threads(): number {
    return this.#piscina.threads.length;
  }

  /** CRC32C and SHA-256 of a local file (and its chunks' CRC32Cs, with `chunkSize`), read once in a worker. */
  async checksumFile(path: string, options: ChecksumFileOptions = {}): Promise<FileChecksums> {
    const { chunkSize } = options;
    // As the store's put checks its own before any request: bad input, not a worker's failure.
    if (chunkSize !== undefined && !(Number.isSafeInteger(chunkSize) && chunkSize > 0)) throw new RangeError(`chunkSize must be a positive integer, got ${chunkSize}`);
    return this.#run<FileChecksums>(undefined, options, (control) => ({ op: 'checksum', path: resolve(path), chunkSize, control }));
  }

  /**
   * Streams a local file to `key` through the backend `target` names, hashing it in the same pass.
   * Resolves to the stored description with both checksums. An aborted or failed upload leaves
   * no object (as far as the backend honours its contract).
   */
  async uploadFile(path: string, key: string, target: BackendTarget, options: UploadFileOptions = {}): Promise<UploadResult> {
    const { metadata, ifNoneMatch, chunkSize } = options;
    const resolvedTarget = this.#resolveTarget(target);
    return this.#run<UploadResult>(key, options, (control) => ({
      op: 'upload',
      path: resolve(path),
      key,
      target: resolvedTarget,
      metadata,
      ifNoneMatch,
      chunkSize,
      control,
    }));
  }

  /**
   * Downloads `key` to `path` through a temp file beside it, verifying both checksums it has
   * (against `expected`, else what the store reports), fsyncing and renaming into place. On a
   * mismatch (`CHECKSUM_MISMATCH`) or any failure, `path` is left exactly as it was.
   */
  async downloadFile(key: string, path: string, target: BackendTarget, options: DownloadFileOptions = {}): Promise<DownloadResult> {
    const { expected, range, syncDirectory, size } = options;
    const streams = streamCount(options.streams ?? this.#downloadStreams, 'streams');
    if (size !== undefined && !(Number.isSafeInteger(size) && size >= 0)) throw new RangeError(`size must be a whole number of bytes, got ${size}`);
    const resolvedTarget = this.#resolveTarget(target);
    const destination = resolve(path);
    const temp = downloadTempPath(destination);
    // A worker that died, or was terminated (an abort its backend ignored), left its temp file.
    const onWorkerLost = () => unlink(temp).catch(() => {});
    return this.#run<DownloadResult>(
      key,
      options,
      (control) => ({ op: 'download', key, path: destination, target: resolvedTarget, expected, range, syncDirectory, size, streams, temp, control }),
      onWorkerLost,
    );
  }

  /**
   * Starts every thread the pool may run and builds `target`'s store in each (its backend's
   * module loaded, its client made), so the first transfers pay for neither: loading an SDK
   * costs a thread a few hundred ms of CPU. Resolves once every thread has; a target that cannot
   * be built rejects as `uploadFile` would. Idle threads still stop after `idleTimeoutMs`.
   */
  async warm(target: BackendTarget): Promise<void> {
    if (this.#closing) throw unavailable(TRANSFER_POOL, undefined, 'the TransferPool is closed');
    const resolvedTarget = this.#resolveTarget(target);
    const parties = this.#piscina.options.maxThreads;
    const barrier = createBarrier();
    const settled = await Promise.allSettled(
      Array.from({ length: parties }, () =>
        this.#piscina.run({ op: 'warm', target: resolvedTarget, barrier, parties, timeoutMs: WARM_TIMEOUT_MS }).catch((error: unknown) => {
          // A thread died building the store: the others stop waiting for it at the barrier.
          breakBarrier(barrier, parties);
          throw error;
        }),
      ),
    );
    // Every warm task has settled before warm() does, so none is still queued ahead of close()'s.
    const died = settled.find((result) => result.status === 'rejected');
    if (died) throw toPoolError(died.reason, TRANSFER_POOL, undefined);
    const failed = settled.map((result) => (result as PromiseFulfilledResult<TaskOutcome<unknown>>).value).find((outcome) => !outcome.ok);
    if (failed && !failed.ok) throw reviveTransferError(failed.error);
  }

  /**
   * Lets the tasks already asked for (running or queued) finish, for at most `graceMs` (default
   * the pool's `closeGraceMs`), then aborts those still pending, as their own AbortSignal would:
   * a queued one is dropped, a running one asked to abort, and its thread terminated after
   * `abortGraceMs` if its backend ignores that (an upload to a server that took the connection
   * and never answers, with no timeout of its own). Each rejects with `ABORTED`, saying the
   * pool closed. Then closes every backend the workers built and stops the threads. Idempotent;
   * a later call may shorten the grace. Every other method rejects (`UNAVAILABLE`) from the
   * first call on.
   */
  close(options: CloseOptions = {}): Promise<void> {
    let grace: number;
    try {
      grace = graceMs(options.graceMs ?? this.#closeGraceMs, 'graceMs');
    } catch (error) {
      return Promise.reject(error as Error); // a bad grace closes nothing
    }
    this.#closing ??= this.#shutdown();
    this.#abortPendingAfter(grace);
    return this.#closing;
  }

  /** Aborts every pending task `grace` ms from now, unless an earlier close() set a sooner time. */
  #abortPendingAfter(grace: number): void {
    const deadline = performance.now() + grace;
    if (this.#drained) return;
    if (this.#closeDeadline !== undefined && this.#closeDeadline <= deadline) return;
    this.#closeDeadline = deadline;
    clearTimeout(this.#closeTimer);
    this.#closeTimer = setTimeout(() => {
      for (const stop of this.#stops) stop(grace);
    }, grace);
  }

  async #run<T extends { size: number }>(
    key: string | undefined,
    options: TransferOptions,
    makeTask: (control: TaskControlHandle) => TransferTask,
    /** Cleans up after a worker that ended without reporting the task's outcome. */
    onWorkerLost?: () => Promise<void>,
  ): Promise<T> {
    if (this.#closing) throw unavailable(TRANSFER_POOL, key, 'the TransferPool is closed');
    const { signal, onProgress } = options;
    throwIfAborted(signal, TRANSFER_POOL, key);
    let reported = 0;
    const control = new TaskControl(
      this.#progressIntervalMs,
      onProgress &&
        ((bytes) => {
          reported = bytes;
          onProgress(bytes);
        }),
    );
    // piscina's own abort: drops a queued task, or terminates the thread of a running one.
    const piscinaAbort = new AbortController();
    let grace: NodeJS.Timeout | undefined;
    const abortTask = (reason: unknown) => {
      if (piscinaAbort.signal.aborted || grace !== undefined) return;
      if (control.cancelBeforeStart()) {
        piscinaAbort.abort(reason);
        return;
      }
      control.requestAbort(String(reason ?? 'aborted'));
      grace = setTimeout(() => piscinaAbort.abort(reason), this.#abortGraceMs);
    };
    const onAbort = () => abortTask(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    /** Set once close() aborted this task: the error it rejects with. */
    let closedUnder: ColdStoreError | undefined;
    const stop = (graceMs: number) => {
      // Its caller aborted it first: it ends now, as the caller's abort (its grace cut short), not as the pool's.
      if (signal?.aborted) {
        clearTimeout(grace);
        piscinaAbort.abort(signal.reason);
        return;
      }
      closedUnder = new ColdStoreError('ABORTED', `${TRANSFER_POOL}: operation aborted${key === undefined ? '' : ` for "${key}"`}: the TransferPool was closed and the task was still pending ${graceMs} ms later (its close grace)`, {
        backend: TRANSFER_POOL,
        key,
      });
      abortTask(closedUnder.message);
    };
    this.#stops.add(stop);

    const running = this.#piscina.run(makeTask(control.handle), {
      signal: piscinaAbort.signal,
      transferList: control.transferList,
    });
    this.#inFlight.add(running);
    try {
      const outcome = await running.catch(async (error: unknown) => {
        await onWorkerLost?.();
        throw error;
      });
      if (outcome.metrics) this.metrics.merge(outcome.metrics);
      if (!outcome.ok) throw reviveTransferError(outcome.error);
      const value = outcome.value as T;
      if (onProgress && value.size > reported) onProgress(value.size);
      return value;
    } catch (error) {
      if (closedUnder) throw new ColdStoreError('ABORTED', closedUnder.message, { backend: TRANSFER_POOL, key, cause: error });
      if (piscinaAbort.signal.aborted) throw aborted(TRANSFER_POOL, key, error);
      // A worker that died, or a piscina failure: still a library error, and ABORTED once the
      // caller aborted, whatever shape the failure took on its way back.
      throw toPoolError(error, TRANSFER_POOL, key, signal);
    } finally {
      this.#inFlight.delete(running);
      this.#stops.delete(stop);
      signal?.removeEventListener('abort', onAbort);
      clearTimeout(grace);
      control.close();
    }
  }

  /** Resolves the module once on the main thread, so workers import a URL. */
  #resolveTarget(target: BackendTarget): BackendTarget {
    let module = this.#modules.get(target.module);
    if (module === undefined) {
      module = resolveBackendModule(target.module);
      this.#modules.set(target.module, module);
    }
    return { ...target, module };
  }

  async #shutdown(): Promise<void> {
    // Bounded: close() aborts what is still pending after its grace, and terminates what ignores that.
    await Promise.allSettled(this.#inFlight);
    this.#drained = true;
    clearTimeout(this.#closeTimer);
    const parties = this.#piscina.threads.length;
    if (parties > 0) {
      const barrier = createBarrier();
      await Promise.allSettled(
        Array.from({ length: parties }, () =>
          this.#piscina.run({ op: 'release', barrier, parties, timeoutMs: RELEASE_TIMEOUT_MS }),
        ),
      );
    }
    await this.#piscina.close();
  }
}

/** A grace in milliseconds as given (a whole number ≥ 0), or a RangeError naming the option. */
function graceMs(value: number, option: string): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${option} must be a whole number of milliseconds ≥ 0, got ${describeArgument(value)}`);
  return value;
}

/** A stream count as given, or a RangeError naming the option. */
function streamCount(value: number, option: string): number {
  if (!Number.isSafeInteger(value) || value < 1 || value > MAX_DOWNLOAD_STREAMS) {
    throw new RangeError(`${option} must be a whole number from 1 to ${MAX_DOWNLOAD_STREAMS}, got ${value}`);
  }
  return value;
}
