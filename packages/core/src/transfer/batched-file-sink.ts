import { constants, fdatasync, write } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import type { BodySink, Checksums } from '../contracts/cold-store.js';
import { offThreadHasher, type MemoryHasher } from './checksum-thread.js';

/** Bytes per batch: each is one write(2). */
const BATCH_BYTES = 4 * 1024 * 1024;
/** Batches being written and hashed, at most, per download: its memory bound is (this + 1) × BATCH_BYTES. */
const BATCHES_IN_FLIGHT = 2;
/** Batch buffers a thread keeps for its next downloads (two downloads' worth), so a download allocates none. */
const SPARE_BUFFERS = 2 * (BATCHES_IN_FLIGHT + 1);
/**
 * O_DIRECT's rule: memory, file offsets and lengths in whole blocks. 4 KiB covers every logical
 * block size Linux filesystems use on ordinary disks.
 */
const DIRECT_BLOCK = 4096;
/**
 * Buffered files only: written bytes after which an fdatasync starts in the background (one at a
 * time), so the disk writes the file while the rest arrives instead of all of it in the final
 * fsync. The final fsync still vouches.
 */
const SYNC_EVERY_BYTES = 16 * 1024 * 1024;
const WASM_PAGE = 64 * 1024;

/** The one WebAssembly API used here (the project's `lib` has no DOM types). */
declare const WebAssembly: {
  Memory: new (descriptor: { initial: number; maximum: number; shared: true }) => { readonly buffer: SharedArrayBuffer };
};

/**
 * A batch's memory: page-aligned, as O_DIRECT needs (a WebAssembly memory is mapped by pages;
 * `Buffer.allocUnsafeSlow` and `new SharedArrayBuffer` are not aligned), and shared, so the
 * checksum thread hashes it where it lies.
 */
interface BatchBuffer {
  readonly memory: SharedArrayBuffer;
  readonly bytes: Buffer;
}

function alignedBuffer(bytes: number): BatchBuffer {
  const pages = Math.ceil(bytes / WASM_PAGE);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true }).buffer;
  return { memory, bytes: Buffer.from(memory, 0, bytes) };
}

/** This thread's idle batch buffers. */
const spareBuffers: BatchBuffer[] = [];
/** One block of zeros, aligned: what a new file's O_DIRECT probe writes. */
let probeBlock: BatchBuffer | undefined;

const writeOnce = (fd: number, bytes: Uint8Array, position: number) =>
  new Promise<number>((resolve, reject) => write(fd, bytes, 0, bytes.byteLength, position, (error, written) => (error ? reject(error) : resolve(written))));

/** Writes every byte of `bytes` at `position`; a short write is continued, so a full disk fails with its own ENOSPC. */
async function writeAt(fd: number, bytes: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < bytes.byteLength; ) {
    const written = await writeOnce(fd, bytes.subarray(done), position + done);
    if (written === 0) throw new Error(`write made no progress at byte ${position + done}`);
    done += written;
  }
}

const isEinval = (error: unknown) => (error as NodeJS.ErrnoException | null)?.code === 'EINVAL';

/**
 * Creates `path` (never someone else's file) for writing with O_DIRECT where the filesystem takes
 * it, proven by writing one aligned block, else buffered (docs/ARCHITECTURE.md, "The worker pool").
 */
async function createFile(path: string): Promise<{ file: FileHandle; direct: boolean }> {
  const { O_WRONLY, O_CREAT, O_EXCL, O_DIRECT } = constants;
  if (O_DIRECT === undefined) return { file: await open(path, 'wx'), direct: false };
  let file: FileHandle;
  try {
    file = await open(path, O_WRONLY | O_CREAT | O_EXCL | O_DIRECT, 0o666);
  } catch (error) {
    if (!isEinval(error)) throw error;
    // Not EEXIST, so whatever is at `path` now was created by this open before the filesystem
    // refused O_DIRECT (ramfs does that).
    await unlink(path).catch(() => {});
    return { file: await open(path, 'wx'), direct: false };
  }
  try {
    probeBlock ??= alignedBuffer(DIRECT_BLOCK);
    await writeAt(file.fd, probeBlock.bytes, 0); // the first batch overwrites it; finish() truncates to the real size
    return { file, direct: true };
  } catch (error) {
    await file.close();
    if (!isEinval(error)) {
      await unlink(path).catch(() => {});
      throw error;
    }
    return { file: await open(path, 'r+'), direct: false }; // the file is ours: created above
  }
}

/**
 * A download's file. Each full batch is written with one write(2) and, at the same time, hashed
 * (CRC32C and SHA-256, one pass) by the thread's checksum thread straight from the batch's
 * shared memory: the thread receiving the bytes neither copies nor hashes them. Written with
 * O_DIRECT where the filesystem allows: the disk reads the batch's own memory, so no page cache
 * is filled (no copy, no page to allocate) and the final fsync has nothing left to write back.
 * Up to two batches are in flight while the next one fills; closed once no write or sync of it is.
 */
class BatchedFile {
  readonly #file: FileHandle;
  readonly #direct: boolean;
  readonly #hasher: MemoryHasher = offThreadHasher();
  #position = 0;
  #checksums: Checksums | undefined;
  /** Batches written and hashed but not yet awaited: the backpressure. */
  #inFlight: Array<Promise<void>> = [];
  /** Every write not yet settled: close() waits for them before giving the descriptor back. */
  readonly #writes = new Set<Promise<void>>();
  /** Buffered files: bytes known written back by a background fdatasync, and the one in flight. */
  #synced = 0;
  #syncing: Promise<void> | undefined;
  #closed = false;

  private constructor(file: FileHandle, direct: boolean) {
    this.#file = file;
    this.#direct = direct;
  }

  static async create(path: string): Promise<BatchedFile> {
    const { file, direct } = await createFile(path);
    return new BatchedFile(file, direct);
  }

  /**
   * Writes and hashes the first `length` bytes of `buffer`. Once this returns (or its promise
   * resolves) at most two batches are in flight, this one included, so the batch handed over
   * before the previous one is done with: its memory may be filled again. Only the last batch of
   * a file may be shorter than a full one.
   */
  append(buffer: BatchBuffer, length: number): void | Promise<void> {
    if (length === 0) return;
    if (this.#inFlight.length < BATCHES_IN_FLIGHT) return this.#start(buffer, length);
    return this.#inFlight.shift()!.then(() => this.append(buffer, length)); // finish() still awaits the later ones
  }

  /** Waits for every batch, fsyncs, and returns both digests of the file's bytes. */
  async finish(): Promise<Checksums> {
    await Promise.all(this.#inFlight);
    if (this.#direct) await this.#file.truncate(this.#position); // the last block's padding, or the probe's block
    await this.#syncing;
    await this.#file.sync();
    this.#checksums = await this.#hasher.digest();
    return this.#checksums;
  }

  /** Closes the file once nothing uses its descriptor (its number may then be reused, by a socket too). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled(this.#writes);
    await this.#syncing;
    if (this.#checksums === undefined) this.#hasher.discard();
    await this.#file.close();
  }

  #start(buffer: BatchBuffer, length: number): void {
    const position = this.#position;
    if (this.#direct && position % DIRECT_BLOCK !== 0) throw new Error(`BatchedFile: a short batch before byte ${position} that is not the last`);
    this.#position += length;
    // O_DIRECT writes whole blocks: the last one is padded with zeros, cut off again by finish().
    const span = this.#direct ? Math.ceil(length / DIRECT_BLOCK) * DIRECT_BLOCK : length;
    if (span > length) buffer.bytes.fill(0, length, span);
    const written = writeAt(this.#file.fd, buffer.bytes.subarray(0, span), position);
    const settled = written.then(
      () => void this.#writes.delete(settled),
      () => void this.#writes.delete(settled),
    );
    this.#writes.add(settled);
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
    const fd = this.#file.fd;
    this.#syncing = written
      .then(() => new Promise<void>((resolve) => fdatasync(fd, () => resolve())))
      .catch(() => {})
      .then(() => {
        this.#synced = upTo;
        this.#syncing = undefined;
      });
  }
}

/**
 * A download's sink: reads land in its three 4 MiB batch buffers (reused from download to
 * download on this thread), each handed to `BatchedFile` when full, so nothing is copied or
 * allocated between the socket and the disk. A stream body is copied in with `copyInto`.
 */
export class BatchedFileSink implements BodySink {
  readonly #file: BatchedFile;
  readonly #buffers: BatchBuffer[];
  readonly #onProgress: ((bytes: number) => void) | undefined;
  #current = 0;
  #used = 0;
  #received = 0;
  #released = false;

  private constructor(file: BatchedFile, onProgress: ((bytes: number) => void) | undefined) {
    this.#file = file;
    this.#onProgress = onProgress;
    this.#buffers = Array.from({ length: BATCHES_IN_FLIGHT + 1 }, () => spareBuffers.pop() ?? alignedBuffer(BATCH_BYTES));
  }

  static async create(path: string, onProgress?: (bytes: number) => void): Promise<BatchedFileSink> {
    return new BatchedFileSink(await BatchedFile.create(path), onProgress);
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

  /** Writes the last batch, fsyncs and returns both digests of the file. */
  async finish(): Promise<Checksums> {
    await this.#handOver();
    return this.#file.finish();
  }

  /** Closes the file (once nothing uses it) and gives the buffers back to the thread. */
  async close(): Promise<void> {
    await this.#file.close();
    if (this.#released) return;
    this.#released = true;
    for (const buffer of this.#buffers) if (spareBuffers.length < SPARE_BUFFERS) spareBuffers.push(buffer);
  }

  #handOver(): void | Promise<void> {
    const buffer = this.#buffers[this.#current]!;
    const length = this.#used;
    // append's promise: at most two batches in flight, so the next buffer is done with.
    this.#current = (this.#current + 1) % this.#buffers.length;
    this.#used = 0;
    return this.#file.append(buffer, length);
  }
}
