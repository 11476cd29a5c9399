import { fdatasync, writev } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';
import type { Checksums } from '../contracts/cold-store.js';
import { offThreadHasher, type FileHasher } from './checksum-thread.js';

/** Bytes gathered before one writev(2): a body's 64 KiB socket chunks become a few large writes. */
const BATCH_BYTES = 4 * 1024 * 1024;
/** Chunks per writev(2) at most (Linux's IOV_MAX). */
const BATCH_CHUNKS = 1024;
/** Batches handed to writev(2) and not yet hashed, at most, per download: its memory bound is (this + 1) × BATCH_BYTES. */
const BATCHES_IN_FLIGHT = 2;

/**
 * Written bytes after which an fdatasync starts in the background (one at a time), so the disk
 * writes the file while the rest arrives instead of all of it in the final fsync (faster
 * downloads: `npm run bench -- throughput`), with the same durability.
 */
const SYNC_EVERY_BYTES = 16 * 1024 * 1024;

const writevOnce = (fd: number, chunks: Buffer[], position: number) =>
  new Promise<number>((resolve, reject) => writev(fd, chunks, position, (error, written) => (error ? reject(error) : resolve(written))));

/** Writes every byte of `chunks` at `position`; a short write is continued, so a full disk fails with its own ENOSPC. */
async function writevAt(fd: number, chunks: Buffer[], length: number, position: number): Promise<void> {
  for (let done = 0; done < length; ) {
    const written = await writevOnce(fd, chunks, position + done);
    if (written === 0) throw new Error(`writev made no progress at byte ${position + done}`);
    done += written;
    if (done < length) chunks = dropBytes(chunks, written);
  }
}

/** `chunks` without their first `bytes` bytes: what is left to write after a short write. */
function dropBytes(chunks: Buffer[], bytes: number): Buffer[] {
  let at = 0;
  while (bytes > 0 && bytes >= chunks[at]!.byteLength) bytes -= chunks[at++]!.byteLength;
  const rest = chunks.slice(at);
  if (bytes > 0) rest[0] = rest[0]!.subarray(bytes);
  return rest;
}

/**
 * A download's sink: gathers the body's chunks, without copying them, into batches of 4 MiB,
 * each written with one writev(2) and then hashed (CRC32C and SHA-256, one pass) by the thread's
 * checksum thread, which reads the batch back from the file: the thread receiving the bytes
 * neither copies nor hashes them, and the digests are of what the file holds. Up to two batches
 * are written and hashed while the next one gathers. `final` writes the rest, fsyncs and takes
 * the digests (`checksums`); the file is created with `wx+` (never someone else's file; readable
 * for the read-back) and closed however the stream ends, once no write, read-back or sync of it
 * is in flight.
 */
export class BatchedFileWriter extends Writable {
  #file: FileHandle | undefined;
  readonly #hasher: FileHasher = offThreadHasher();
  #batch: Buffer[] = [];
  #batchBytes = 0;
  #position = 0;
  #received = 0;
  #checksums: Checksums | undefined;
  /**
   * The last batch's write, settled (writes go one after the other), and its read-back (each
   * after the previous one; a failure fails every later one before it reads anything): once
   * both have settled, nothing uses the descriptor.
   */
  #writeTail: Promise<void> = Promise.resolve();
  #hashTail: Promise<void> = Promise.resolve();
  /** Batches written or read back but not yet awaited by a flush: the backpressure. */
  #inFlight: Array<Promise<void>> = [];
  /** Bytes known written back by a background fdatasync, and the one in flight. */
  #synced = 0;
  #syncing: Promise<void> | undefined;

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
    // `+`: the checksum thread reads the batches back through this descriptor.
    open(this.path, 'wx+').then(
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
    if (this.#batchBytes >= BATCH_BYTES || this.#batch.length >= BATCH_CHUNKS) this.#flush().then(() => callback(), callback);
    else callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#flush()
      .then(() => this.#hashTail)
      .then(() => this.#syncing)
      .then(() => this.#file!.sync())
      .then(() => this.#hasher.digest())
      .then((checksums) => {
        this.#checksums = checksums;
        callback();
      }, callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const file = this.#file;
    this.#file = undefined;
    this.#batch = [];
    void this.#settled()
      .then(() => {
        // Nothing reads the file any more (the checksum thread reads it through this descriptor).
        if (this.#checksums === undefined) this.#hasher.discard();
        return file?.close();
      })
      .then(
        () => callback(error),
        (closeError: Error) => callback(error ?? closeError),
      );
  }

  /** Waits until no write, read-back or sync is in flight: the descriptor may then be closed (and its number reused). */
  async #settled(): Promise<void> {
    await this.#writeTail;
    await this.#hashTail.catch(() => {});
    await this.#syncing;
  }

  /** Hands the gathered batch to writev(2), then to the checksum thread; waits while two batches are still in flight. */
  async #flush(): Promise<void> {
    if (this.#batchBytes === 0) return;
    while (this.#inFlight.length >= BATCHES_IN_FLIGHT) await this.#inFlight.shift(); // the later ones chain on it: _destroy still waits for it
    const fd = this.#file!.fd;
    const chunks = this.#batch;
    const length = this.#batchBytes;
    const position = this.#position;
    this.#batch = [];
    this.#batchBytes = 0;
    this.#position += length;
    // In order: this write after the previous one, this read-back after the previous one's.
    const written = this.#writeTail.then(() => writevAt(fd, chunks, length, position));
    const hashed = Promise.all([written, this.#hashTail]).then(() => this.#hasher.update(fd, position, length));
    hashed.catch(() => {}); // awaited by a later flush, by _final or by _destroy
    this.#writeTail = written.catch(() => {}); // its failure is reported through `hashed`
    this.#hashTail = hashed;
    this.#inFlight.push(hashed);
    if (this.#position - this.#synced >= SYNC_EVERY_BYTES && this.#syncing === undefined) this.#syncBehind(written, this.#position);
  }

  /**
   * Once `written` is done, starts writing back what is written (up to `upTo`) while more
   * arrives. Its result does not matter: the final fsync in `_final`, awaited after it, is the
   * one that vouches.
   */
  #syncBehind(written: Promise<void>, upTo: number): void {
    const fd = this.#file!.fd;
    this.#syncing = written
      .then(() => new Promise<void>((resolve) => fdatasync(fd, () => resolve())))
      .catch(() => {})
      .then(() => {
        this.#synced = upTo;
        this.#syncing = undefined;
      });
  }
}
