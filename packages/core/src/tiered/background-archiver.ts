import type { PlanItem } from '../policy/tier-plan.js';
import { FailureBackoff } from './failure-backoff.js';
import type { OperationFailure } from './tiered-events.js';

/** What one cycle did. */
export interface CycleReport {
  readonly startedAt: number;
  readonly durationMs: number;
  /** Steps the plan asked for (actions other than `none`). */
  readonly planned: number;
  readonly retiered: number;
  readonly archived: number;
  readonly evicted: number;
  readonly failed: number;
  /** Steps left for a later cycle: their segment is waiting out a backoff after failing. */
  readonly deferred: number;
}

/** How one cycle ended, kept for an operator (`BackgroundArchiver.status`). */
export interface CycleOutcome {
  readonly startedAt: number;
  readonly finishedAt: number;
  /** Its report; undefined when it failed before applying a step (its refresh threw). */
  readonly report: CycleReport | undefined;
  /**
   * Why it did not go well: the cycle's own failure (`operation: 'cycle'`, its refresh), or else
   * the first of its steps that failed (each is retried with backoff); undefined when none did.
   */
  readonly failure: OperationFailure | undefined;
}

/** Whether the archiver runs, and how its last cycle went (times are the clock's, ms since the epoch). */
export interface ArchiverStatus {
  /** Started (`start()`): a cycle every `intervalMs`. Cycles asked for (`runCycle`) are kept here too. */
  readonly running: boolean;
  readonly intervalMs: number;
  /** The last cycle that finished, in the background or asked for; undefined before the first. */
  readonly lastCycle: CycleOutcome | undefined;
  /** When the last cycle ended without a failure, and when the last one ended with one. */
  readonly lastSuccessAt: number | undefined;
  readonly lastFailureAt: number | undefined;
}

/** What the archiver drives: the model it plans from and the operations it applies. */
export interface CycleTarget {
  refresh(): Promise<void>;
  plan(options: { changesOnly: true }): PlanItem[];
  /** Carries out the step; false when it no longer held (another operation moved the segment first) and nothing was done. */
  apply(step: PlanItem, signal: AbortSignal): Promise<boolean>;
  now(): number;
  failed(failure: OperationFailure): void;
}

export interface StopOptions {
  /** Abort operations in flight (each rolls back what it started) instead of waiting for them. */
  abort?: boolean;
}

/**
 * Runs a cycle every `intervalMs`: re-scan, plan, apply with at most `concurrency` steps at
 * once. A failing step does not stop the others; it is reported and retried with backoff on
 * later cycles. One cycle at a time; `stop()` waits for (or aborts) the one running.
 */
export class BackgroundArchiver {
  readonly #backoff = new FailureBackoff();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<CycleReport> | undefined;
  #abort = new AbortController();
  #lastCycle: CycleOutcome | undefined;
  #lastSuccessAt: number | undefined;
  #lastFailureAt: number | undefined;

  constructor(
    private readonly target: CycleTarget,
    private readonly intervalMs: number,
    private readonly concurrency: number,
  ) {}

  get started(): boolean {
    return this.#timer !== undefined;
  }

  get status(): ArchiverStatus {
    return { running: this.started, intervalMs: this.intervalMs, lastCycle: this.#lastCycle, lastSuccessAt: this.#lastSuccessAt, lastFailureAt: this.#lastFailureAt };
  }

  start(): void {
    if (this.#timer) return;
    this.#abort = new AbortController();
    // Unref'd: a timer must not keep a process alive that is otherwise done.
    this.#timer = setInterval(() => void this.runCycle().catch(() => {}), this.intervalMs).unref();
  }

  /** One cycle now; while one runs, its result. */
  runCycle(): Promise<CycleReport> {
    this.#running ??= this.#recordedCycle().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async stop(options: StopOptions = {}): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    if (options.abort) this.#abort.abort(new Error('tiered storage is stopping'));
    await this.#running?.catch(() => {});
    this.#abort = new AbortController();
  }

  /** A cycle, its outcome kept for `status`. */
  async #recordedCycle(): Promise<CycleReport> {
    const startedAt = this.target.now();
    let first: OperationFailure | undefined;
    const failed = (failure: OperationFailure) => {
      first ??= failure;
      this.target.failed(failure);
    };
    const finish = (report: CycleReport | undefined, failure: OperationFailure | undefined) => {
      const finishedAt = this.target.now();
      this.#lastCycle = { startedAt, finishedAt, report, failure };
      if (failure) this.#lastFailureAt = finishedAt;
      else this.#lastSuccessAt = finishedAt;
    };
    try {
      const report = await this.#cycle(startedAt, failed);
      finish(report, first);
      return report;
    } catch (error) {
      finish(undefined, first ?? { operation: 'cycle', path: undefined, error: error as Error });
      throw error;
    }
  }

  async #cycle(startedAt: number, failed: (failure: OperationFailure) => void): Promise<CycleReport> {
    const began = performance.now();
    const signal = this.#abort.signal;
    const counts = { retier: 0, archive: 0, evict: 0, failed: 0, deferred: 0 };
    try {
      await this.target.refresh();
    } catch (error) {
      failed({ operation: 'cycle', path: undefined, error: error as Error });
      throw error;
    }
    const steps = this.target.plan({ changesOnly: true });
    const queue = steps.filter((step) => {
      const waiting = this.#backoff.waiting(step.path, startedAt);
      if (waiting) counts.deferred++;
      return !waiting;
    });
    const worker = async () => {
      for (let step = queue.shift(); step !== undefined && !signal.aborted; step = queue.shift()) {
        try {
          const applied = await this.target.apply(step, signal);
          this.#backoff.succeeded(step.path);
          if (applied && step.action !== 'none') counts[step.action]++;
        } catch (error) {
          counts.failed++;
          const retryAt = this.#backoff.failed(step.path, this.target.now());
          const operation = step.action === 'none' ? 'cycle' : step.action;
          failed({ operation, path: step.path, error: error as Error, retryAt });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, this.concurrency) }, worker));
    return {
      startedAt,
      durationMs: performance.now() - began,
      planned: steps.length,
      retiered: counts.retier,
      archived: counts.archive,
      evicted: counts.evict,
      failed: counts.failed,
      deferred: counts.deferred,
    };
  }
}
