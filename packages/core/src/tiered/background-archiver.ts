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

  constructor(
    private readonly target: CycleTarget,
    private readonly intervalMs: number,
    private readonly concurrency: number,
  ) {}

  get started(): boolean {
    return this.#timer !== undefined;
  }

  start(): void {
    if (this.#timer) return;
    this.#abort = new AbortController();
    // Unref'd: a timer must not keep a process alive that is otherwise done.
    this.#timer = setInterval(() => void this.runCycle().catch(() => {}), this.intervalMs).unref();
  }

  /** One cycle now; while one runs, its result. */
  runCycle(): Promise<CycleReport> {
    this.#running ??= this.#cycle().finally(() => {
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

  async #cycle(): Promise<CycleReport> {
    const startedAt = this.target.now();
    const began = performance.now();
    const signal = this.#abort.signal;
    const counts = { retier: 0, archive: 0, evict: 0, failed: 0, deferred: 0 };
    try {
      await this.target.refresh();
    } catch (error) {
      this.target.failed({ operation: 'cycle', path: undefined, error: error as Error });
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
          this.target.failed({ operation, path: step.path, error: error as Error, retryAt });
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
