import { fdatasync, writev } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';
import type { BodySink, Checksums } from '../contracts/cold-store.js';
import { offThreadHasher, type FileHasher } from './checksum-thread.js';

/** Bytes gathered before one writev(2): a body's 64 KiB socket chunks become a few large writes. */
const BATCH_BYTES = 4 * 1024 * 1024;
/** Chunks per writev(2) at most (Linux's IOV_MAX). */
const BATCH_CHUNKS = 1024;
/** Batches handed to writev(2) and not yet hashed, at most, per download: its memory bound is (this + 1) × BATCH_BYTES. */
const BATCHES_IN_FLIGHT = 2;
/** Batch buffers a thread keeps for its next downloads (two downloads' worth), so a download allocates none. */
const SPARE_BUFFERS = 2 * (BATCHES_IN_FLIGHT + 1);

/**
 * Written bytes after which an fdatasync starts in the background (one at a time), so the disk
 * writes the file while the rest arrives instead of all of it in the final fsync (faster
 * downloads: `npm run bench -- throughput`), with the same durability.
 */
const SYNC_EVERY_BYTES = 16 * 1024 * 1024;

const writevOnce = (fd: number, chunks: Uint8Array[], position: number) =>
  new Promise<number>((resolve, reject) => writev(fd, chunks, position, (error, written) => (error ? reject(error) : resolve(written))));

/** Writes every byte of `chunks` at `position`; a short write is continued, so a full disk fails with its own ENOSPC. */
async function writevAt(fd: number, chunks: Uint8Array[], length: number, position: number): Promise<void> {
  for (let done = 0; done < length; ) {
    const written = await writevOnce(fd, chunks, position + done);
    if (written === 0) throw new Error(`writev made no progress at byte ${position + done}`);
    done += written;
    if (done < length) chunks = dropBytes(chunks, written);
  }
}

/** `chunks` without their first `bytes` bytes: what is left to write after a short write. */
function dropBytes(chunks: Uint8Array[], bytes: number): Uint8Array[] {
  let at = 0;
  while (bytes > 0 && bytes >= chunks[at]!.byteLength) bytes -= chunks[at++]!.byteLength;
  const rest = chunks.slice(at);
  if (bytes > 0) rest[0] = rest[0]!.subarray(bytes);
  return rest;
}

/** This thread's idle batch buffers. */
const spareBuffers: Buffer[] = [];

/**
 * A download's file: batches are written with one writev(2) each and then hashed (CRC32C and
 * SHA-256, one pass) by the thread's checksum thread, which reads each batch back from the file:
 * the thread receiving the bytes neither copies nor hashes them, and the digests are of what the
 * file holds. Up to two batches are written and hashed while the next one gathers. Created with
 * `wx+` (never someone else's file; readable for the read-back); closed once no write, read-back
 * or sync of it is in flight. Fed by `BatchedFileWriter` (a stream's chunks) or `BatchedFileSink`
 * (reads straight into its buffers).
 */
class BatchedFile {
  readonly #file: FileHandle;
  readonly #hasher: FileHasher = offThreadHasher();
  #position = 0;
  #checksums: Checksums | undefined;
  /**
   * The last batch's write, settled (writes go one after the other), and its read-back (each
   * after the previous one; a failure fails every later one before it reads): once both have
   * settled, nothing uses the descriptor.
   */
  #writeTail: Promise<void> = Promise.resolve();
  #hashTail: Promise<void> = Promise.resolve();
  /** Batches written or read back but not yet awaited: the backpressure. */
  #inFlight: Array<Promise<void>> = [];
  /** Bytes known written back by a background fdatasync, and the one in flight. */
  #synced = 0;
  #syncing: Promise<void> | undefined;
  #closed = false;

  private constructor(file: FileHandle) {
    this.#file = file;
  }

  static async create(path: string): Promise<BatchedFile> {
    // `+`: the checksum thread reads the batches back through this descriptor.
    return new BatchedFile(await open(path, 'wx+'));
  }

  /**
   * Hands `chunks` (`length` bytes) to writev(2), then to the checksum thread. Once this returns
   * (or its promise resolves) at most two batches are in flight, this one included, so the
   * batch handed over before the previous one is written: its memory may be filled again.
   */
  append(chunks: Uint8Array[], length: number): void | Promise<void> {
    if (length === 0) return;
    if (this.#inFlight.length < BATCHES_IN_FLIGHT) return this.#start(chunks, length);
    return this.#inFlight.shift()!.then(() => this.append(chunks, length)); // the later ones chain on it: close() still waits for it
  }

  /** Waits for every batch, fsyncs, and returns both digests of the file's bytes. */
  async finish(): Promise<Checksums> {
    await this.#hashTail;
    await this.#syncing;
    await this.#file.sync();
    this.#checksums = await this.#hasher.digest();
    return this.#checksums;
  }

  /** Closes the file once nothing uses its descriptor (its number may then be reused, by a socket too). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#writeTail;
    await this.#hashTail.catch(() => {});
    await this.#syncing;
    if (this.#checksums === undefined) this.#hasher.discard();
    await this.#file.close();
  }

  #start(chunks: Uint8Array[], length: number): void {
    const fd = this.#file.fd;
    const position = this.#position;
    this.#position += length;
    // In order: this write after the previous one, this read-back after the previous one's.
    const written = this.#writeTail.then(() => writevAt(fd, chunks, length, position));
    const hashed = Promise.all([written, this.#hashTail]).then(() => this.#hasher.update(fd, position, length));
    hashed.catch(() => {}); // awaited by a later append, by finish or by close
    this.#writeTail = written.catch(() => {}); // its failure is reported through `hashed`
    this.#hashTail = hashed;
    this.#inFlight.push(hashed);
    if (this.#position - this.#synced >= SYNC_EVERY_BYTES && this.#syncing === undefined) this.#syncBehind(written, this.#position);
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
 * A download's sink for a stream: gathers the body's chunks, without copying them, into
 * batches of 4 MiB for `BatchedFile`. `final` writes the rest, fsyncs and takes the digests
 * (`checksums`); the file is closed however the stream ends.
 */
export class BatchedFileWriter extends Writable {
  #file: BatchedFile | undefined;
  #batch: Buffer[] = [];
  #batchBytes = 0;
  #received = 0;
  #checksums: Checksums | undefined;

  constructor(
    private readonly path: string,
    private readonly onProgress?: ((bytes: number) => void) | undefined,
  ) {
    super({ highWaterMark: BATCH_BYTES });
  }

  /** Bytes received so far. */
  get bytes(): number {
    return this.#received;
  }

  /** Both checksums of every byte written; once the stream has finished. */
  get checksums(): Checksums {
    if (this.#checksums === undefined) throw new Error('BatchedFileWriter: checksums are known once the stream has finished');
    return this.#checksums;
  }

  override _construct(callback: (error?: Error | null) => void): void {
    BatchedFile.create(this.path).then(
      (file) => {
        this.#file = file;
        callback();
      },
      (error: Error) => callback(error),
    );
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#received += chunk.byteLength;
    this.onProgress?.(this.#received);
    this.#batch.push(chunk);
    this.#batchBytes += chunk.byteLength;
    if (this.#batchBytes < BATCH_BYTES && this.#batch.length < BATCH_CHUNKS) return callback();
    const accepted = this.#flush();
    if (accepted) accepted.then(() => callback(), callback);
    else callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    Promise.resolve(this.#flush())
      .then(() => this.#file!.finish())
      .then((checksums) => {
        this.#checksums = checksums;
        callback();
      }, callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#batch = [];
    Promise.resolve(this.#file?.close()).then(
      () => callback(error),
      (closeError: Error) => callback(error ?? closeError),
    );
  }

  #flush(): void | Promise<void> {
    const chunks = this.#batch;
    const length = this.#batchBytes;
    this.#batch = [];
    this.#batchBytes = 0;
    return this.#file!.append(chunks, length);
  }
}

/**
 * A download's sink for a store's `readInto`: the socket reads land in this sink's own batch
 * buffers (three, reused from download to download on this thread), each handed to
 * `BatchedFile` when full, so no byte is copied or allocated between the socket and the file.
 */
export class BatchedFileSink implements BodySink {
  readonly #file: BatchedFile;
  readonly #buffers: Buffer[];
  readonly #onProgress: ((bytes: number) => void) | undefined;
  #current = 0;
  #used = 0;
  #received = 0;
  #released = false;

  private constructor(file: BatchedFile, onProgress: ((bytes: number) => void) | undefined) {
    this.#file = file;
    this.#onProgress = onProgress;
    this.#buffers = Array.from({ length: BATCHES_IN_FLIGHT + 1 }, () => spareBuffers.pop() ?? Buffer.allocUnsafeSlow(BATCH_BYTES));
  }

  static async create(path: string, onProgress?: (bytes: number) => void): Promise<BatchedFileSink> {
    return new BatchedFileSink(await BatchedFile.create(path), onProgress);
  }

  /** Bytes received so far. */
  get bytes(): number {
    return this.#received;
  }

  space(): Uint8Array {
    return this.#buffers[this.#current]!.subarray(this.#used);
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
    const batch = this.#buffers[this.#current]!.subarray(0, this.#used);
    // append's promise: at most two batches in flight, so the next buffer's write is done.
    this.#current = (this.#current + 1) % this.#buffers.length;
    this.#used = 0;
    return this.#file.append([batch], batch.byteLength);
  }
}
