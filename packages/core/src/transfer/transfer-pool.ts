import { access } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Piscina } from 'piscina';
import type { BackendTarget } from '../contracts/backend-provider.js';
import { unavailable } from '../errors/factories.js';
import { describeArgument } from '../reads/read-arguments.js';
import { throwIfAborted } from '../errors/signals.js';
import { InMemoryStoreMetrics } from '../metrics/in-memory-store-metrics.js';
import type { StoreMetricsRegistry } from '../metrics/store-metrics.js';
import { downloadTempPath } from './atomic-download.js';
import { resolveBackendModule } from './backend-module.js';
import { PendingTasks } from './pending-tasks.js';
import { TaskAbort } from './task-abort.js';
import { TaskControl } from './task-control.js';
import { TaskGate } from './task-gate.js';
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
import {
  DEFAULT_DOWNLOAD_STREAMS,
  defaultPoolChecksums,
  defaultPoolThreads,
  type ChecksumFileOptions,
  type CloseOptions,
  type DownloadFileOptions,
  type TransferOptions,
  type TransferPoolOptions,
  type UploadFileOptions,
} from './transfer-pool-options.js';

const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
const DEFAULT_ABORT_GRACE_MS = 30_000;
const DEFAULT_CLOSE_GRACE_MS = 30_000;
const DEFAULT_PROGRESS_INTERVAL_MS = 100;
const DEFAULT_NICE_INCREMENT = 10;
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
  readonly #pending = new PendingTasks();
  readonly #closeGraceMs: number;
  readonly #modules = new Map<string, string>();
  /** What `checksumFile` tasks pass before piscina's queue: one per core (`maxChecksums`). */
  readonly #checksums: TaskGate;
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
    // Checked before any thread starts; the default waits for piscina, which names a bad maxThreads itself.
    const maxChecksums = options.maxChecksums === undefined ? undefined : taskCount(options.maxChecksums, 'maxChecksums');
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
      // Node closes a worker's fs.open descriptors again when the worker exits, and misses those
      // closed by anything but fs.close: a FIFO's socket closes its own, so an exit (close(), an
      // idle timeout) closed whatever file or socket of the process held that number by then.
      // The workers hold files as FileHandles and sockets instead, which an exit closes itself.
      trackUnmanagedFds: false,
    });
    this.#checksums = new TaskGate(maxChecksums ?? defaultPoolChecksums(maxThreads));
  }

  /** `checksumFile` tasks it runs at once at most (`maxChecksums`). */
  get maxChecksums(): number {
    return this.#checksums.limit;
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
    return this.#run<FileChecksums>(undefined, options, (control) => ({ op: 'checksum', path: resolve(path), chunkSize, control }), undefined, this.#checksums);
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
    this.#pending.stopAfter(grace);
    return this.#closing;
  }

  async #run<T extends { size: number }>(
    key: string | undefined,
    options: TransferOptions,
    makeTask: (control: TaskControlHandle) => TransferTask,
    /** Cleans up after a worker that ended without reporting the task's outcome. */
    onWorkerLost?: () => Promise<void>,
    /** What the task passes before piscina's queue, waiting its turn there (an abort or close() ends the wait as it would drop a queued task). */
    gate?: TaskGate,
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
    const abort = new TaskAbort(control, this.#abortGraceMs, signal, key);
    const running = this.#start(makeTask(control.handle), control, abort, gate);
    this.#pending.add(running, abort.stop);
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
      throw abort.failure(error);
    } finally {
      this.#pending.delete(running);
      abort.dispose();
      control.close();
    }
  }

  /** Hands the task to piscina, once through `gate` if it has one; the gate is left when the task settles. */
  async #start(task: TransferTask, control: TaskControl, abort: TaskAbort, gate: TaskGate | undefined): Promise<TaskOutcome<unknown>> {
    const leave = await gate?.enter(abort.piscinaSignal);
    try {
      return await this.#piscina.run(task, { signal: abort.piscinaSignal, transferList: control.transferList });
    } finally {
      leave?.();
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
    await this.#pending.drain();
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

/** A count of tasks as given (a whole number ≥ 1), or a RangeError naming the option. */
function taskCount(value: number, option: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${option} must be a whole number ≥ 1, got ${describeArgument(value)}`);
  return value;
}

/** A stream count as given, or a RangeError naming the option. */
function streamCount(value: number, option: string): number {
  if (!Number.isSafeInteger(value) || value < 1 || value > MAX_DOWNLOAD_STREAMS) {
    throw new RangeError(`${option} must be a whole number from 1 to ${MAX_DOWNLOAD_STREAMS}, got ${value}`);
  }
  return value;
}
