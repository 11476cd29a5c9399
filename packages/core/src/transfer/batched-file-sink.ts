import { fdatasync } from 'node:fs';
import type { Digests } from '../checksums/checksums.js';
import type { BodySink } from '../contracts/cold-store.js';
import { inlineHasher, offThreadHasher, type HasherOptions, type MemoryHasher } from './checksum-thread.js';
import { createWritableFile, DIRECT_BLOCK, FileWrites, finishAndSync, sharedBuffer, type SharedBuffer, type WritableFile } from './direct-io.js';

/** Bytes per batch: each is one write(2). */
const BATCH_BYTES = 4 * 1024 * 1024;
/** Batches being written and hashed, at most, per download: its memory bound is (this + 1) × BATCH_BYTES. */
const BATCHES_IN_FLIGHT = 2;
/** Batch buffers a thread keeps for its next downloads (two downloads' worth), so a download allocates none. */
const SPARE_BUFFERS = 2 * (BATCHES_IN_FLIGHT + 1);
/**
 * Buffered files only: written bytes after which an fdatasync starts in the background (one at a
 * time), so the disk writes the file while the rest arrives instead of all of it in the final
 * fsync. The final fsync still vouches.
 */
const SYNC_EVERY_BYTES = 16 * 1024 * 1024;

/** This thread's idle batch buffers: shared with the checksum thread, page-aligned for O_DIRECT. */
const spareBuffers: SharedBuffer[] = [];

/**
 * A download's file. Each full batch is written with one write(2) and, at the same time, hashed
 * (SHA-256 and, unless left out, CRC32C, one pass) by the thread's checksum thread straight
 * from the batch's shared memory: the thread receiving the bytes neither copies nor hashes
 * them. Written with O_DIRECT where the filesystem allows: the disk reads the batch's own
 * memory, so no page cache is filled (no copy, no page to allocate) and the final fsync has
 * nothing left to write back. Up to two batches are in flight while the next one fills; closed
 * once no write or sync of it is.
 */
class BatchedFile {
  readonly #target: WritableFile;
  /** Chosen at the first batch: on this thread when that batch is the whole file, else the checksum thread. */
  #hasher: MemoryHasher | undefined;
  #position = 0;
  #digests: Digests | undefined;
  /** Batches written and hashed but not yet awaited: the backpressure. */
  #inFlight: Array<Promise<void>> = [];
  /** close() waits for every write before giving the descriptor back. */
  readonly #writes: FileWrites;
  /** Buffered files: bytes known written back by a background fdatasync, and the one in flight. */
  #synced = 0;
  #syncing: Promise<void> | undefined;
  #closed = false;

  private constructor(
    target: WritableFile,
    /** Whether the final truncate and fsync run on this thread, blocking it (see `syncOnThisThread`). */
    private readonly syncOnThisThread: boolean,
    private readonly hashing: HasherOptions,
  ) {
    this.#target = target;
    this.#writes = new FileWrites(target);
  }

  /** `direct`: whether O_DIRECT may be tried (every buffer to be written is aligned). */
  static async create(path: string, direct: boolean, syncOnThisThread: boolean, hashing: HasherOptions): Promise<BatchedFile> {
    return new BatchedFile(await createWritableFile(path, direct), syncOnThisThread, hashing);
  }

  get #direct(): boolean {
    return this.#target.direct;
  }

  /**
   * Writes and hashes the first `length` bytes of `buffer`. Once this returns (or its promise
   * resolves) at most two batches are in flight, this one included, so the batch handed over
   * before the previous one is done with: its memory may be filled again. Only the last batch of
   * a file may be shorter than a full one.
   */
  append(buffer: SharedBuffer, length: number, last = false): void | Promise<void> {
    if (length === 0) return;
    if (this.#inFlight.length < BATCHES_IN_FLIGHT) return this.#start(buffer, length, last);
    return this.#inFlight.shift()!.then(() => this.append(buffer, length, last)); // finish() still awaits the later ones
  }

  /** Waits for every batch, fsyncs, and returns the digests of the file's bytes. */
  async finish(): Promise<Digests> {
    await Promise.all(this.#inFlight);
    await this.#syncing;
    await finishAndSync(this.#target, this.#position, this.syncOnThisThread);
    this.#hasher ??= inlineHasher(this.hashing); // an empty file
    this.#digests = await this.#hasher.digest();
    return this.#digests;
  }

  /** Closes the file once nothing uses its descriptor (its number may then be reused, by a socket too). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#writes.settled();
    await this.#syncing;
    if (this.#digests === undefined) this.#hasher?.discard();
    await this.#target.file.close();
  }

  #start(buffer: SharedBuffer, length: number, last: boolean): void {
    const position = this.#position;
    this.#hasher ??= last && position === 0 ? inlineHasher(this.hashing) : offThreadHasher(this.hashing);
    if (this.#direct && position % DIRECT_BLOCK !== 0) throw new Error(`BatchedFile: a short batch before byte ${position} that is not the last`);
    this.#position += length;
    // O_DIRECT writes whole blocks: the last one is padded with zeros, cut off again by finish().
    const written = this.#writes.write(buffer.bytes, length, position);
    const done = Promise.all([written, this.#hasher.update(buffer.memory, 0, length)]).then(() => {});
    done.catch(() => {}); // awaited by a later append or by finish
    this.#inFlight.push(done);
    if (!this.#direct && this.#position - this.#synced >= SYNC_EVERY_BYTES && this.#syncing === undefined) this.#syncBehind(written, this.#position);
  }

  /**
   * Once `written` is done, starts writing back what is written (up to `upTo`) while more
   * arrives. Its result does not matter: the final fsync in `finish`, awaited after it, is the
   * one that vouches.
   */
  #syncBehind(written: Promise<void>, upTo: number): void {
    const fd = this.#target.file.fd;
    this.#syncing = written
      .then(() => new Promise<void>((resolve) => fdatasync(fd, () => resolve())))
      .catch(() => {})
      .then(() => {
        this.#synced = upTo;
        this.#syncing = undefined;
      });
  }
}

export interface BatchedFileSinkOptions extends HasherOptions {
  onProgress?: ((bytes: number) => void) | undefined;
  syncOnThisThread?: boolean | undefined;
}

/**
 * A download's sink: reads land in its three 4 MiB batch buffers (reused from download to
 * download on this thread), each handed to `BatchedFile` when full, so nothing is copied or
 * allocated between the socket and the disk. A stream body is copied in with `copyInto`.
 */
export class BatchedFileSink implements BodySink {
  readonly #file: BatchedFile;
  readonly #buffers: SharedBuffer[];
  readonly #onProgress: ((bytes: number) => void) | undefined;
  #current = 0;
  #used = 0;
  #received = 0;
  #released = false;

  private constructor(file: BatchedFile, buffers: SharedBuffer[], onProgress: ((bytes: number) => void) | undefined) {
    this.#file = file;
    this.#buffers = buffers;
    this.#onProgress = onProgress;
  }

  /**
   * `syncOnThisThread`: the final truncate and fsync block this thread instead of going through
   * libuv's threadpool. `crc32c: false`: SHA-256 alone (see `HasherOptions`).
   */
  static async create(path: string, options: BatchedFileSinkOptions): Promise<BatchedFileSink> {
    const { onProgress, syncOnThisThread = false, crc32c } = options;
    const buffers = Array.from({ length: BATCHES_IN_FLIGHT + 1 }, () => spareBuffers.pop() ?? sharedBuffer(BATCH_BYTES));
    try {
      return new BatchedFileSink(await BatchedFile.create(path, buffers.every((buffer) => buffer.aligned), syncOnThisThread, { crc32c }), buffers, onProgress);
    } catch (error) {
      spareBuffers.push(...buffers.slice(0, SPARE_BUFFERS - spareBuffers.length));
      throw error;
    }
  }

  /** Bytes received so far. */
  get bytes(): number {
    return this.#received;
  }

  space(): Uint8Array {
    return this.#buffers[this.#current]!.bytes.subarray(this.#used);
  }

  filled(bytes: number): void | Promise<void> {
    this.#used += bytes;
    this.#received += bytes;
    this.#onProgress?.(this.#received);
    if (this.#used === BATCH_BYTES) return this.#handOver();
  }

  /** Writes the last batch, fsyncs and returns the digests of the file. */
  async finish(): Promise<Digests> {
    await this.#handOver(true);
    return this.#file.finish();
  }

  /** Closes the file (once nothing uses it) and gives the buffers back to the thread. */
  async close(): Promise<void> {
    await this.#file.close();
    if (this.#released) return;
    this.#released = true;
    for (const buffer of this.#buffers) if (spareBuffers.length < SPARE_BUFFERS) spareBuffers.push(buffer);
  }

  #handOver(last = false): void | Promise<void> {
    const buffer = this.#buffers[this.#current]!;
    const length = this.#used;
    // append's promise: at most two batches in flight, so the next buffer is done with.
    this.#current = (this.#current + 1) % this.#buffers.length;
    this.#used = 0;
    return this.#file.append(buffer, length, last);
  }
}
