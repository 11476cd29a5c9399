import { aborted } from '../errors/factories.js';

/** The operation last asked for on a segment: running, or queued behind the one before it. */
interface Queued {
  readonly kind: string;
  readonly done: Promise<unknown>;
  /** Aborts the operation; fired only once every caller sharing it has aborted. */
  readonly abort: AbortController;
  /** Callers sharing it that can still abort; a caller without a signal never does. */
  abortable: number;
  unabortable: boolean;
}

/** Runs `work` holding the segment at `path`, as an operation does: what reconciliation and a sync are handed. */
export type HoldSegment = (path: string, work: () => Promise<void>) => Promise<void>;

/** Runs `work` holding every segment of `paths` at once: what a rebuild commits under. */
export type HoldSegments = <T>(paths: readonly string[], work: () => Promise<T>) => Promise<T>;

/**
 * One operation per segment at a time, in the order asked. A request of the same kind as the
 * last one asked on the segment shares it (concurrent readers of one archived segment share a
 * single restore); a request of another kind runs after it, against the state it left. So a
 * restore asked after an evict is never answered by the restore the evict was waiting on.
 *
 * A shared operation runs under a signal of its own, aborted only once every caller sharing it
 * has aborted: one reader giving up does not fail the others' restore. A caller that aborts
 * while others still share the operation stops waiting at once, with `ABORTED` naming the
 * segment; the last one waits for the operation to roll back.
 */
export class SegmentLocks {
  readonly #last = new Map<string, Queued>();
  #holds = 0;

  /** `backend`: the cold store's name, for the `ABORTED` error of a caller that stops waiting. */
  constructor(private readonly backend: string) {}

  run<T>(path: string, kind: string, operation: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    let queued = this.#last.get(path);
    if (queued?.kind !== kind || queued.abort.signal.aborted) {
      const before = queued?.done.catch(() => {}) ?? Promise.resolve();
      const abort = new AbortController();
      const done = before.then(() => operation(abort.signal));
      const entry: Queued = { kind, done, abort, abortable: 0, unabortable: false };
      void done
        .finally(() => {
          if (this.#last.get(path) === entry) this.#last.delete(path);
        })
        .catch(() => {});
      this.#last.set(path, entry);
      queued = entry;
    }
    return this.#join(path, queued, signal) as Promise<T>;
  }

  /**
   * Runs `work` once it holds every segment of `paths`, each queued behind what was asked of it
   * before, and holds them until `work` settles. Queued on every path at once, so two such holds
   * on shared paths take them in the same order and never wait for each other in a circle; a hold
   * is never shared (each is its own kind).
   */
  async holdAll<T>(paths: readonly string[], work: () => Promise<T>): Promise<T> {
    const kind = `hold:${++this.#holds}`;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const held = paths.map((path) => new Promise<void>((acquired) => void this.run(path, kind, () => (acquired(), released))));
    try {
      await Promise.all(held);
      return await work();
    } finally {
      release();
    }
  }

  /** Whether an operation on `path` is running or queued in this process. */
  busy(path: string): boolean {
    return this.#last.has(path);
  }

  /** Resolves once every operation running or queued now has settled. */
  async idle(): Promise<void> {
    while (this.#last.size > 0) await Promise.allSettled([...this.#last.values()].map((queued) => queued.done));
  }

  #join(path: string, queued: Queued, signal: AbortSignal | undefined): Promise<unknown> {
    if (signal === undefined) {
      queued.unabortable = true;
      return queued.done;
    }
    queued.abortable++;
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        if (--queued.abortable === 0 && !queued.unabortable) {
          // The last caller: the operation stops and rolls back, and this caller gets its outcome.
          queued.abort.abort(signal.reason);
          return;
        }
        reject(aborted(this.backend, path, signal.reason));
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      queued.done.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }
}
