import type { Digests } from '../checksums/checksums.js';
import type { BodySink, ColdStore } from '../contracts/cold-store.js';
import { isColdStoreError } from '../errors/cold-store-error.js';
import { checksumMismatch, sizeMismatch } from '../errors/factories.js';
import { allOrFirstFailure } from '../errors/signals.js';
import { readIntoSink } from '../store/copy-into.js';
import { offThreadHasher, type HasherOptions, type MemoryHasher } from './checksum-thread.js';
import { createWritableFile, FileWrites, finishAndSync, sharedBuffer, type SharedBuffer, type WritableFile } from './direct-io.js';

// A large object fetched as ranges over several requests at once, written to its file as they
// arrive and hashed in the file's order (docs/ARCHITECTURE.md, "The worker pool").

/** Bytes per ranged request; each lands whole in one part buffer. */
export const RANGE_PART_BYTES = 8 * 1024 * 1024;
/**
 * A part buffer's room: one byte more than a part, for the last part's request, which asks for
 * one byte past `size` so an object longer than expected is seen even when its first `size`
 * bytes are the expected ones (a range running past the end is truncated: none comes back).
 */
const PART_ROOM = RANGE_PART_BYTES + 1;
/** Within a part, bytes per write(2): each starts as soon as its bytes have arrived. */
const WRITE_BYTES = 4 * 1024 * 1024;
/** Part buffers beyond one per stream: a stream that finished its part ahead of a slower one starts the next. */
const SPARE_PARTS = 2;

export interface RangedDownloadOptions extends HasherOptions {
  /** The object's size: the ranges cover exactly these bytes. */
  size: number;
  /** Ranged requests in flight at once. */
  streams: number;
  signal?: AbortSignal | undefined;
  onProgress?: ((bytes: number) => void) | undefined;
  /** The final truncate and fsync block this thread instead of going through libuv's threadpool. */
  syncOnThisThread?: boolean | undefined;
}

/** The most part buffers one ranged download holds: its memory bound is this × `RANGE_PART_BYTES`. */
const rangedDownloadParts = (streams: number) => streams + SPARE_PARTS;

/** Ranged requests that cover `size` bytes, one `RANGE_PART_BYTES` part each. */
const partsOf = (size: number) => Math.ceil(size / RANGE_PART_BYTES);

/**
 * Reads the `size` bytes of `key` into a new file at `path` through `streams` ranged requests at
 * once, each of one `RANGE_PART_BYTES` part, and returns the digests of the bytes (CRC32C unless
 * `crc32c: false`).
 *
 * Each part is written at its offset while it arrives (O_DIRECT where the filesystem allows, as a
 * single-stream download is), but SHA-256 takes bytes in order: a part is handed to the checksum
 * thread only once every part before it has been, and its buffer is reused only once it is
 * written and hashed. Parts are started in order and a stream takes a buffer before it starts
 * one, so the earliest unhashed part always holds a buffer: the others wait for it, never the
 * reverse. Memory: `rangedDownloadParts(streams)` parts, whatever the object's size.
 *
 * An object that turns out shorter or longer than `size` fails with `CHECKSUM_MISMATCH` (the last
 * part's request asks for one byte past `size`: `PART_ROOM`), before the file is used. The first
 * failure stops every other request; the file is closed once no write of it is pending, and the
 * caller deletes it.
 */
export async function readRangesIntoFile(store: ColdStore, key: string, path: string, options: RangedDownloadOptions): Promise<Digests> {
  const { size, streams } = options;
  const buffers = Array.from({ length: Math.min(rangedDownloadParts(streams), partsOf(size)) }, () => sharedBuffer(PART_ROOM));
  const file = await createWritableFile(path, buffers.every((buffer) => buffer.aligned));
  const download = new RangedDownload(store, key, file, buffers, options);
  try {
    await download.run();
    await finishAndSync(file, size, options.syncOnThisThread === true);
    return await download.digest();
  } finally {
    await download.close();
  }
}

/** One part's bytes as they arrive: written in `WRITE_BYTES` pieces, each as soon as it is complete. */
class PartSink implements BodySink {
  readonly #writes: Array<Promise<void>> = [];
  #used = 0;
  #written = 0;

  constructor(
    readonly index: number,
    readonly buffer: SharedBuffer,
    readonly offset: number,
    readonly length: number,
    private readonly download: RangedDownload,
    /** Bytes the part's request asks for: `length`, or one more for the last part. */
    readonly asked: number = length,
  ) {}

  get received(): number {
    return this.#used;
  }

  /** Settles once every write of the part's bytes has; rejects with the first that failed. */
  written(): Promise<unknown> {
    return Promise.all(this.#writes);
  }

  space(): Uint8Array {
    return this.buffer.bytes.subarray(this.#used, this.asked);
  }

  filled(bytes: number): void {
    this.#used += bytes;
    this.download.received(bytes);
    // Whole pieces only (each starts on a block, as O_DIRECT needs), and the part's tail once it is in.
    const upTo = this.#used >= this.length ? this.length : this.#used - (this.#used % WRITE_BYTES);
    if (upTo > this.#written) {
      this.#writes.push(this.download.write(this.buffer, this.#written, upTo - this.#written, this.offset));
      this.#written = upTo;
    }
  }
}

class RangedDownload {
  readonly #hasher: MemoryHasher;
  readonly #free: SharedBuffer[];
  readonly #waiting: Array<(buffer: SharedBuffer | undefined) => void> = [];
  /** The file is closed only after every write. */
  readonly #writes: FileWrites;
  readonly #parts: number;
  #nextPart = 0;
  /** Parts fully received, waiting for the ones before them to be hashed. */
  readonly #arrived = new Map<number, { part: PartSink; settle: (done: Promise<void>) => void }>();
  #nextHashed = 0;
  #received = 0;
  #digested = false;
  /** Set on the first failure or abort: nothing more is hashed. */
  #stopped = false;

  constructor(
    private readonly store: ColdStore,
    private readonly key: string,
    private readonly file: WritableFile,
    buffers: SharedBuffer[],
    private readonly options: RangedDownloadOptions,
  ) {
    this.#hasher = offThreadHasher(options);
    this.#writes = new FileWrites(file);
    this.#free = [...buffers];
    this.#parts = partsOf(options.size);
  }

  /** Every part fetched, written and hashed; or the first failure, once nothing is in flight. */
  async run(): Promise<void> {
    await allOrFirstFailure(this.options.signal, (shared, fail) => {
      shared.addEventListener('abort', () => this.#stopWaiting(), { once: true });
      return Array.from({ length: Math.min(this.options.streams, this.#parts) }, () => this.#stream(shared, fail));
    });
  }

  received(bytes: number): void {
    this.#received += bytes;
    this.options.onProgress?.(this.#received);
  }

  /** Writes `length` bytes of `buffer` from `from` at the file's `offset + from`. */
  write(buffer: SharedBuffer, from: number, length: number, offset: number): Promise<void> {
    // O_DIRECT writes whole blocks: the file's last piece is padded with zeros, cut off by the final truncate.
    return this.#writes.write(buffer.bytes.subarray(from), length, offset + from);
  }

  digest(): Promise<Digests> {
    this.#digested = true;
    return this.#hasher.digest();
  }

  async close(): Promise<void> {
    await this.#writes.settled();
    if (!this.#digested) this.#hasher.discard();
    await this.file.file.close();
  }

  /**
   * One stream: while parts remain, takes a buffer, then the next part, and fetches it; the
   * part's writing and hashing go on while the stream fetches its next one, and are awaited
   * before the stream settles.
   */
  async #stream(shared: AbortSignal, fail: (error: unknown) => void): Promise<void> {
    const finishing: Array<Promise<void>> = [];
    try {
      while (this.#nextPart < this.#parts && !shared.aborted) {
        const buffer = await this.#takeBuffer(shared);
        if (buffer === undefined) break;
        if (this.#nextPart >= this.#parts) {
          this.#giveBack(buffer);
          break;
        }
        const index = this.#nextPart++;
        const offset = index * RANGE_PART_BYTES;
        const length = Math.min(RANGE_PART_BYTES, this.options.size - offset);
        const part = new PartSink(index, buffer, offset, length, this, index === this.#parts - 1 ? length + 1 : length);
        await this.#fetch(part, shared);
        finishing.push(this.#hashInOrder(part).catch(fail));
      }
    } catch (error) {
      fail(error);
    } finally {
      await Promise.all(finishing);
    }
  }

  /** Fetches one part; on failure, waits for its writes and gives its buffer back before rethrowing. */
  async #fetch(part: PartSink, shared: AbortSignal): Promise<void> {
    const { store, key } = this;
    try {
      await readIntoSink(store, key, part, { range: { offset: part.offset, length: part.asked }, signal: shared }).catch((error: unknown) => {
        if (!isColdStoreError(error, 'INVALID_RANGE')) throw error;
        throw checksumMismatch(store.backend, key, `the object is shorter than the ${this.options.size} bytes expected: it has no byte ${part.offset}`, error);
      });
      if (part.received !== part.length) throw sizeMismatch(store.backend, key, this.options.size, part.offset + part.received);
    } catch (error) {
      await this.#finish(part);
      throw error;
    }
  }

  /** Resolves once `part` (fully received) is written and hashed, which waits for every part before it. */
  #hashInOrder(part: PartSink): Promise<void> {
    if (this.#stopped) return this.#finish(part);
    return new Promise((settle) => {
      this.#arrived.set(part.index, { part, settle });
      for (let next; (next = this.#arrived.get(this.#nextHashed)) !== undefined; this.#nextHashed++) {
        this.#arrived.delete(this.#nextHashed);
        next.settle(this.#finish(next.part, this.#hasher.update(next.part.buffer.memory, 0, next.part.length)));
      }
    });
  }

  /** Once the part's writes (and its hashing, if any) have settled, its buffer goes to the next part. */
  async #finish(part: PartSink, hashed?: Promise<void>): Promise<void> {
    try {
      await Promise.all([part.written(), hashed]);
    } finally {
      this.#giveBack(part.buffer);
    }
  }

  async #takeBuffer(shared: AbortSignal): Promise<SharedBuffer | undefined> {
    if (shared.aborted) return undefined;
    return this.#free.pop() ?? new Promise((wake) => this.#waiting.push(wake));
  }

  #giveBack(buffer: SharedBuffer): void {
    const waiting = this.#waiting.shift();
    if (waiting) waiting(buffer);
    else this.#free.push(buffer);
  }

  /**
   * After a failure or an abort: streams waiting for a buffer stop, and parts that arrived after
   * one that never will are not hashed; their buffers go back once their writes settle.
   */
  #stopWaiting(): void {
    this.#stopped = true;
    for (const wake of this.#waiting.splice(0)) wake(undefined);
    for (const { part, settle } of this.#arrived.values()) settle(this.#finish(part));
    this.#arrived.clear();
  }
}
