/**
 * One operation per segment at a time. A second request of the same kind while one runs shares
 * its result (concurrent readers of one archived segment share a single restore); a request of
 * another kind waits its turn and then runs against the state the first one left.
 */
export class SegmentLocks {
  readonly #running = new Map<string, { kind: string; done: Promise<unknown> }>();

  run<T>(path: string, kind: string, operation: () => Promise<T>): Promise<T> {
    const current = this.#running.get(path);
    if (current?.kind === kind) return current.done as Promise<T>;
    if (current) return current.done.catch(() => {}).then(() => this.run(path, kind, operation));
    const done = operation().finally(() => {
      if (this.#running.get(path)?.done === done) this.#running.delete(path);
    });
    this.#running.set(path, { kind, done });
    return done;
  }

  /** Whether an operation on `path` is running in this process. */
  busy(path: string): boolean {
    return this.#running.has(path);
  }

  /** Resolves once every operation running now has settled. */
  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running.values()].map((r) => r.done));
  }
}
