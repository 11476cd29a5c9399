/**
 * The part buffers of one put, reused part after part. At most `partsInFlight + 1` exist (the
 * parts being uploaded and the one being filled), so a put's body memory is exactly that, and
 * it makes no garbage: freed multi-MiB buffers would otherwise pile up until V8 collects them,
 * and a malloc that keeps freed memory would keep the process's RSS up long after.
 */
export class PartBuffers {
  readonly #free: Buffer[] = [];
  #allocated = 0;

  constructor(
    readonly partSize: number,
    readonly limit: number,
  ) {}

  /** Buffers allocated so far (never more than `limit` while the caller keeps its bound). */
  get allocated(): number {
    return this.#allocated;
  }

  /** A buffer of `partSize` bytes, reused when one is free. Its content is stale. */
  acquire(): Buffer {
    const reused = this.#free.pop();
    if (reused) return reused;
    this.#allocated++;
    return Buffer.allocUnsafeSlow(this.partSize);
  }

  /** Hands a buffer back once nothing reads it any more (its part's request has settled). */
  release(buffer: Buffer): void {
    if (this.#free.length < this.limit) this.#free.push(buffer);
  }
}
