import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { AbortMessage, ProgressMessage, TaskControlHandle } from './transfer-task.js';

// The start/cancel handshake lives in shared memory so that exactly one side wins it: either
// the main thread cancels a task no worker has begun (and piscina may drop it from its queue),
// or the worker begins it (and from then on an abort is a request the worker honours itself,
// so the backend can clean up instead of having its thread terminated mid-upload).
const QUEUED = 0;
const STARTED = 1;
const CANCELLED = 2;

/** The main thread's end of one task: cancel, request an abort, receive progress. */
export class TaskControl {
  readonly #state = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
  readonly #channel = new MessageChannel();
  readonly #progressIntervalMs: number;

  constructor(progressIntervalMs: number, onProgress?: (bytes: number) => void) {
    this.#progressIntervalMs = onProgress ? progressIntervalMs : 0;
    if (onProgress) {
      this.#channel.port1.on('message', (message: ProgressMessage) => {
        if (message.type === 'progress') onProgress(message.bytes);
      });
    }
  }

  /** What the task carries; `transferList` must accompany it. */
  get handle(): TaskControlHandle {
    return { state: this.#state, port: this.#channel.port2, progressIntervalMs: this.#progressIntervalMs };
  }

  get transferList(): MessagePort[] {
    return [this.#channel.port2];
  }

  /** Cancels the task if no worker has begun it; true when that was so (it will do nothing). */
  cancelBeforeStart(): boolean {
    return Atomics.compareExchange(this.#state, 0, QUEUED, CANCELLED) === QUEUED;
  }

  /** Asks the worker running the task to abort it. */
  requestAbort(reason: string): void {
    const message: AbortMessage = { type: 'abort', reason };
    this.#channel.port1.postMessage(message);
  }

  /** Closes the channel; late progress messages are dropped. */
  close(): void {
    this.#channel.port1.close();
  }
}

/** The worker's end of one task: an AbortSignal for the operation and throttled progress. */
export class WorkerTaskControl {
  readonly #controller = new AbortController();
  readonly #handle: TaskControlHandle;
  #lastSentAt = 0;
  #pendingBytes: number | undefined;
  #timer: NodeJS.Timeout | undefined;

  private constructor(handle: TaskControlHandle) {
    this.#handle = handle;
    handle.port.on('message', (message: AbortMessage) => {
      if (message.type === 'abort') this.#controller.abort(new DOMException(message.reason, 'AbortError'));
    });
  }

  /** Begins the task, or returns `undefined` when the main thread cancelled it first. */
  static begin(handle: TaskControlHandle): WorkerTaskControl | undefined {
    if (Atomics.compareExchange(handle.state, 0, QUEUED, STARTED) !== QUEUED) {
      handle.port.close();
      return undefined;
    }
    return new WorkerTaskControl(handle);
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Reports a running byte count, at most once per interval; the latest count always goes out. */
  readonly reportProgress = (bytes: number): void => {
    const interval = this.#handle.progressIntervalMs;
    if (interval <= 0) return;
    this.#pendingBytes = bytes;
    const wait = this.#lastSentAt + interval - performance.now();
    if (wait <= 0) this.#flushProgress();
    else this.#timer ??= setTimeout(() => this.#flushProgress(), wait);
  };

  /** Ends the task's channel; the caller learns the final count from the result. */
  finish(): void {
    clearTimeout(this.#timer);
    this.#handle.port.close();
  }

  #flushProgress(): void {
    this.#timer = undefined;
    if (this.#pendingBytes === undefined) return;
    const message: ProgressMessage = { type: 'progress', bytes: this.#pendingBytes };
    this.#pendingBytes = undefined;
    this.#lastSentAt = performance.now();
    this.#handle.port.postMessage(message);
  }
}
