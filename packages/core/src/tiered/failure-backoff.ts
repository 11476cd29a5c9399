/** After a failure, when a segment's operation may run again: 30 s, doubling, at most a day. */
const FIRST_DELAY_MS = 30_000;
const MAX_DELAY_MS = 24 * 3_600_000;

/**
 * Failed operations wait before the next cycle tries them again, longer after each failure,
 * so a segment that keeps failing (a corrupt file, a denied key) does not crowd out the rest.
 * In memory only: a restart gives every segment a fresh chance.
 */
export class FailureBackoff {
  readonly #failures = new Map<string, { count: number; retryAt: number }>();

  /** Records a failure at `now`; returns when the segment may be tried again. */
  failed(path: string, now: number): number {
    const count = (this.#failures.get(path)?.count ?? 0) + 1;
    const retryAt = now + Math.min(FIRST_DELAY_MS * 2 ** (count - 1), MAX_DELAY_MS);
    this.#failures.set(path, { count, retryAt });
    return retryAt;
  }

  succeeded(path: string): void {
    this.#failures.delete(path);
  }

  /** Whether `path` is still waiting out its backoff at `now`. */
  waiting(path: string, now: number): boolean {
    const entry = this.#failures.get(path);
    return entry !== undefined && entry.retryAt > now;
  }
}
