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

const MiB = 1024 * 1024;

/**
 * The buffers a store's single-request puts read a whole local file into, kept for the next
 * put: uploading many files of a few MiB (a log's segments) would otherwise leave one multi-MiB
 * buffer of garbage per file, whose external memory drives V8 into full collections. Bodies
 * under 1 MiB get a buffer of their own. Sizes are rounded up to whole MiB so that files of
 * similar sizes share one; at most `maxIdle` wait between puts, each within the put memory bound.
 */
export class WholeBodyBuffers {
  readonly #idle: Buffer[] = [];

  constructor(readonly maxIdle = 1) {}

  /** A buffer of at least `size` bytes; its content is stale. */
  acquire(size: number): Buffer {
    if (size < MiB) return Buffer.allocUnsafe(size);
    let best = -1;
    for (let at = 0; at < this.#idle.length; at++) {
      const length = this.#idle[at]!.byteLength;
      if (length >= size && (best < 0 || length < this.#idle[best]!.byteLength)) best = at;
    }
    if (best >= 0) return this.#idle.splice(best, 1)[0]!;
    return Buffer.allocUnsafeSlow(Math.ceil(size / MiB) * MiB);
  }

  /** Hands a buffer back once its request has settled. */
  release(buffer: Buffer): void {
    if (buffer.byteLength < MiB) return;
    if (this.#idle.length < this.maxIdle) return void this.#idle.push(buffer);
    // Keep the larger: it serves every size the smaller does.
    const smallest = this.#idle.reduce((at, idle, index) => (idle.byteLength < this.#idle[at]!.byteLength ? index : at), 0);
    if (buffer.byteLength > this.#idle[smallest]!.byteLength) this.#idle[smallest] = buffer;
  }
}
