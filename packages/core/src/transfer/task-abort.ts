import { ColdStoreError } from '../errors/cold-store-error.js';
import type { ConfigError } from '../errors/config-error.js';
import { aborted } from '../errors/factories.js';
import type { TaskControl } from './task-control.js';
import { toPoolError, TRANSFER_POOL } from './transfer-error.js';

/**
 * How one pool task ends before its time (docs/ARCHITECTURE.md, "The worker pool"). A queued
 * task is dropped; a running one is asked to abort (its backend aborts, its temp file is
 * deleted), and its thread is terminated `abortGraceMs` later only if it ignores that (a backend
 * ignoring its signal). Its caller's signal asks it; so does `close()` once its grace is over,
 * and the task then rejects saying the pool closed it, unless its caller had aborted it first.
 */
export class TaskAbort {
  /** piscina's own abort: drops a queued task, or terminates the thread of a running one. */
  readonly #piscina = new AbortController();
  #grace: NodeJS.Timeout | undefined;
  /** Set once close() aborted this task: the error it rejects with. */
  #closedUnder: ColdStoreError | undefined;
  readonly #onAbort = () => this.#abort(this.signal?.reason);

  constructor(
    private readonly control: TaskControl,
    private readonly abortGraceMs: number,
    /** The caller's signal. */
    private readonly signal: AbortSignal | undefined,
    private readonly key: string | undefined,
  ) {
    signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  /** What piscina runs the task under. */
  get piscinaSignal(): AbortSignal {
    return this.#piscina.signal;
  }

  /** Ends the task because close()'s grace of `graceMs` ran out with it still pending. */
  readonly stop = (graceMs: number): void => {
    // Its caller aborted it first: it ends now, as the caller's abort (its grace cut short), not as the pool's.
    if (this.signal?.aborted) {
      clearTimeout(this.#grace);
      this.#piscina.abort(this.signal.reason);
      return;
    }
    const { key } = this;
    this.#closedUnder = new ColdStoreError('ABORTED', `${TRANSFER_POOL}: operation aborted${key === undefined ? '' : ` for "${key}"`}: the TransferPool was closed and the task was still pending ${graceMs} ms later (its close grace)`, {
      backend: TRANSFER_POOL,
      key,
    });
    this.#abort(this.#closedUnder.message);
  };

  /** What the task rejects with, given what its run failed with. */
  failure(error: unknown): ColdStoreError | ConfigError {
    const { key } = this;
    if (this.#closedUnder) return new ColdStoreError('ABORTED', this.#closedUnder.message, { backend: TRANSFER_POOL, key, cause: error });
    if (this.#piscina.signal.aborted) return aborted(TRANSFER_POOL, key, error);
    // A worker that died, or a piscina failure: still a library error, and ABORTED once the
    // caller aborted, whatever shape the failure took on its way back.
    return toPoolError(error, TRANSFER_POOL, key, this.signal);
  }

  /** Once the task has settled: stops listening to the caller's signal and cancels a grace still running. */
  dispose(): void {
    this.signal?.removeEventListener('abort', this.#onAbort);
    clearTimeout(this.#grace);
  }

  #abort(reason: unknown): void {
    if (this.#piscina.signal.aborted || this.#grace !== undefined) return;
    if (this.control.cancelBeforeStart()) {
      this.#piscina.abort(reason);
      return;
    }
    this.control.requestAbort(String(reason ?? 'aborted'));
    this.#grace = setTimeout(() => this.#piscina.abort(reason), this.abortGraceMs);
  }
}
