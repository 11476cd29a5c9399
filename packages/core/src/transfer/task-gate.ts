/**
 * At most `limit` holders at once; the others wait in the order they came (docs/ARCHITECTURE.md,
 * "The worker pool"). The pool passes its checksums through one: hashing a file is all CPU, so
 * more of them at once than there are cores only share the cores and each other's caches, and
 * hold threads an upload or a download could wait in.
 */
export class TaskGate {
  #held = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(readonly limit: number) {}

  /**
   * Resolves with the function that leaves the gate, once there is room; rejects with `signal`'s
   * reason if it aborts first (the caller then holds nothing).
   */
  async enter(signal: AbortSignal): Promise<() => void> {
    signal.throwIfAborted();
    if (this.#held < this.limit) {
      this.#held++;
      return this.#leaver();
    }
    await new Promise<void>((resolve, reject) => {
      const grant = () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        this.#waiting.splice(this.#waiting.indexOf(grant), 1);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(grant);
    });
    return this.#leaver();
  }

  /** Leaves once however often it is called: the room passes to the first waiting, if any. */
  #leaver(): () => void {
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const next = this.#waiting.shift();
      if (next) next();
      else this.#held--;
    };
  }
}
