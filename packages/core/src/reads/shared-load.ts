/**
 * One load (a chunk, an index) shared by concurrent readers, under a signal of its own that
 * fires only once every reader sharing it has aborted: one reader giving up does not fail the
 * others' fetch. A reader that aborts stops waiting at once, with the error `aborted` makes.
 * A reader without a signal (a prefetch) never aborts, so the load always runs to its end.
 */
export class SharedLoad<T> {
  readonly done: Promise<T>;
  readonly #abort = new AbortController();
  #abortable = 0;
  #unabortable = false;
  #settled = false;

  constructor(load: (signal: AbortSignal) => Promise<T>) {
    this.done = load(this.#abort.signal);
    void this.done.then(
      () => (this.#settled = true),
      () => (this.#settled = true),
    );
  }

  /** Every reader gave up and the load was stopped: a new reader needs a new load. */
  get aborted(): boolean {
    return this.#abort.signal.aborted;
  }

  /** The load's outcome for one reader, or `aborted(reason)` as soon as `signal` fires. */
  join(signal: AbortSignal | undefined, aborted: (reason: unknown) => Error): Promise<T> {
    if (signal === undefined) {
      this.#unabortable = true;
      return this.done;
    }
    this.#abortable++;
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => {
        if (--this.#abortable === 0 && !this.#unabortable && !this.#settled) this.#abort.abort(signal.reason);
        reject(aborted(signal.reason));
      };
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      this.done.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }
}
