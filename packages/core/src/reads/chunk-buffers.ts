/** Retired buffers kept for reuse (at the default 4 MiB chunk, 16 MiB). */
const KEPT = 4;

/**
 * Chunk buffers reused from fetch to fetch, so random reads do not allocate a fresh chunk each:
 * V8 collects external memory every few tens of MiB allocated, and with a new 4 MiB buffer per
 * fetch (5 MiB a read) random reads paid a full collection every few reads, whose concurrent
 * marking took the second core (docs/ARCHITECTURE.md, "Remote reads").
 *
 * A buffer is only reused once nothing can read it any more:
 * - its holders have let it go (`hold`/`release`: the chunks kept in memory, a disk write);
 * - and every read under way when that happened has ended (`enter`/`leave`): such a read may
 *   still hold the chunk, or a slice of it. A read that starts later cannot reach it, as long as
 *   the cache hands a chunk out only while a holder has it, and readers copy what they return.
 *
 * Only buffers this class made are tracked; any other (an index copy) passes through untouched.
 */
export class ChunkBuffers {
  /** Holders per buffer this class made and handed out; a buffer at zero is retired. */
  readonly #holders = new Map<ArrayBuffer, number>();
  readonly #made = new WeakSet<ArrayBuffer>();
  /** Let go of, oldest first, each with the last read that had started by then. */
  readonly #retired: { memory: ArrayBuffer; lastRead: number }[] = [];
  /** Reads under way; tickets grow, so the first is the oldest. */
  readonly #reads = new Set<number>();
  #lastRead = 0;

  constructor(private readonly kept = KEPT) {}

  /** A read starts: buffers let go of from now on wait for it to `leave`. */
  enter(): number {
    const ticket = ++this.#lastRead;
    this.#reads.add(ticket);
    return ticket;
  }

  leave(ticket: number): void {
    this.#reads.delete(ticket);
  }

  /** `size` bytes to fetch a chunk into: a retired buffer no read can reach, else a new one. */
  take(size: number): Buffer {
    const oldestRead = this.#reads.values().next().value ?? Number.POSITIVE_INFINITY;
    const at = this.#retired.findIndex((retired) => retired.memory.byteLength === size && retired.lastRead < oldestRead);
    if (at >= 0) return Buffer.from(this.#retired.splice(at, 1)[0]!.memory);
    const bytes = Buffer.allocUnsafeSlow(size);
    this.#made.add(bytes.buffer);
    return bytes;
  }

  /** One more holder of `bytes` (or a view of them). */
  hold(bytes: Uint8Array): void {
    const memory = bytes.buffer as ArrayBuffer;
    if (!this.#made.has(memory)) return;
    if (this.#retired.some((retired) => retired.memory === memory)) throw new Error('a retired chunk buffer was held again: it may already be another chunk');
    this.#holders.set(memory, (this.#holders.get(memory) ?? 0) + 1);
  }

  /** A holder lets go; the last one retires the buffer, reusable once the reads under way now have ended. */
  release(bytes: Uint8Array): void {
    const memory = bytes.buffer as ArrayBuffer;
    const holders = this.#holders.get(memory);
    if (holders === undefined) return;
    if (holders > 1) {
      this.#holders.set(memory, holders - 1);
      return;
    }
    this.#holders.delete(memory);
    this.#retired.push({ memory, lastRead: this.#lastRead });
    if (this.#retired.length > this.kept) this.#retired.shift();
  }

  /** Buffers waiting for reuse (for tests). */
  get retired(): number {
    return this.#retired.length;
  }
}
