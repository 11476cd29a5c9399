/**
 * The tasks a pool has pending (running or queued), as `close()` sees them (docs/ARCHITECTURE.md,
 * "The worker pool"): it waits for them to settle, and once its grace runs out stops each one
 * still pending, as its own abort would. A later `close()` may bring that moment forward, never
 * put it back: an upload to a server that never answers must not hold the pool for as long as
 * it hangs.
 */
export class PendingTasks {
  /** Each pending task, with what ends it once close()'s grace is over (told the grace that ran out). */
  readonly #tasks = new Map<Promise<unknown>, (graceMs: number) => void>();
  /** When the pending tasks are stopped (`performance.now()` time), and its timer. */
  #deadline: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Every task close() found has settled: nothing is left to stop. */
  #drained = false;

  /** Tracks `running` until `delete`; `stop` ends it early when close()'s grace runs out. */
  add(running: Promise<unknown>, stop: (graceMs: number) => void): void {
    this.#tasks.set(running, stop);
  }

  delete(running: Promise<unknown>): void {
    this.#tasks.delete(running);
  }

  /** Stops every pending task `grace` ms from now, unless an earlier call set a sooner time. */
  stopAfter(grace: number): void {
    const deadline = performance.now() + grace;
    if (this.#drained) return;
    if (this.#deadline !== undefined && this.#deadline <= deadline) return;
    this.#deadline = deadline;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      for (const stop of this.#tasks.values()) stop(grace);
    }, grace);
  }

  /** Resolves once every task pending now has settled; nothing is stopped after that. */
  async drain(): Promise<void> {
    await Promise.allSettled(this.#tasks.keys());
    this.#drained = true;
    clearTimeout(this.#timer);
  }
}
