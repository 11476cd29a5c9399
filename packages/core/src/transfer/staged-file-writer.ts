import { fdatasync, write } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';
import type { Checksums } from '../contracts/cold-store.js';
import { offThreadHasher, sharedStage, type StageHasher } from './checksum-thread.js';

/** Bytes gathered before one write(2): a body's 64 KiB socket chunks become a few large writes. */
export const STAGE_BYTES = 4 * 1024 * 1024;

/**
 * Written bytes after which an fdatasync starts in the background (one at a time), so the disk
 * writes the file while the rest arrives instead of all of it in the final fsync (faster
 * downloads: `npm run bench -- throughput`), with the same durability.
 */
export const SYNC_EVERY_BYTES = 16 * 1024 * 1024;

const writeOnce = (fd: number, buffer: Buffer, offset: number, length: number, position: number) =>
  new Promise<number>((resolve, reject) => write(fd, buffer, offset, length, position, (error, written) => (error ? reject(error) : resolve(written))));

/** Writes all `length` bytes at `position`; a short write is continued, so a full disk fails with its own ENOSPC. */
async function writeAt(fd: number, buffer: Buffer, length: number, position: number): Promise<void> {
  for (let done = 0; done < length; ) done += await writeOnce(fd, buffer, done, length - done, position + done);
}

/**
 * Stage buffers no download is using, kept for the next one on this thread: a restore of many
 * files would otherwise leave two 4 MiB buffers per file for the garbage collector, whose
 * collections of that much external memory showed up as a tenth of a download's CPU. They are
 * shared memory, so the checksum thread reads them where they are.
 */
const spareStages: Buffer[] = [];
const SPARE_STAGES = 4;
const takeStage = () => spareStages.pop() ?? sharedStage(STAGE_BYTES);

/**
 * A download's sink: gathers chunks into two staging buffers that take turns, one filling while
 * the other is written and hashed (CRC32C and SHA-256, one pass, on the checksum thread), so a
 * file gets one write(2) per 4 MiB instead of one per socket chunk, and the thread receiving
 * the bytes does not hash them too. `final` writes the rest, fsyncs and takes the digests
 * (`checksums`); the file is created with `wx` (never someone else's file) and closed however
 * the stream ends.
 */
export class StagedFileWriter extends Writable {
  #file: FileHandle | undefined;
  readonly #hasher: StageHasher = offThreadHasher();
  #stages: Buffer[] = [takeStage(), takeStage()];
  #fill = 0;
  #position = 0;
  #received = 0;
  #checksums: Checksums | undefined;
  /** The previous stage's write and hash, awaited before its buffer is filled again. */
  #writing: Promise<void> = Promise.resolve();
  /** Bytes known written back by a background fdatasync, and the one in flight. */
  #synced = 0;
  #syncing: Promise<void> | undefined;

  constructor(
    private readonly path: string,
    private readonly onProgress?: ((bytes: number) => void) | undefined,
  ) {
    super({ highWaterMark: STAGE_BYTES });
  }

  /** Bytes received so far. */
  get bytes(): number {
    return this.#received;
  }

  /** Both checksums of every byte written; once the stream has finished. */
  get checksums(): Checksums {
    if (this.#checksums === undefined) throw new Error('StagedFileWriter: checksums are known once the stream has finished');
    return this.#checksums;
  }

  override _construct(callback: (error?: Error | null) => void): void {
    open(this.path, 'wx').then(
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
    this.#stage(chunk).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#flushStage()
      .then(() => this.#writing)
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
    if (this.#checksums === undefined) this.#hasher.discard();
    void this.#settled()
      .then(() => {
        // No write is in flight any more: the stages can serve the next download.
        for (const stage of this.#stages.splice(0)) if (spareStages.length < SPARE_STAGES) spareStages.push(stage);
        return file?.close();
      })
      .then(
        () => callback(error),
        (closeError: Error) => callback(error ?? closeError),
      );
  }

  /**
   * Starts writing back what is already written (up to `upTo`) while more arrives. Its result
   * does not matter: the final fsync in `_final`, awaited after it, is the one that vouches.
   */
  #syncBehind(upTo: number): void {
    const fd = this.#file!.fd;
    this.#syncing = new Promise<void>((resolve) => fdatasync(fd, () => resolve())).then(() => {
      this.#synced = upTo;
      this.#syncing = undefined;
    });
  }

  /** Waits until no write or sync is in flight, including one a flush started while this waited. */
  async #settled(): Promise<void> {
    for (let writing; writing !== this.#writing; ) {
      writing = this.#writing;
      await writing.catch(() => {});
    }
    await this.#syncing;
  }

  async #stage(chunk: Buffer): Promise<void> {
    for (let at = 0; at < chunk.byteLength; ) {
      const take = Math.min(chunk.byteLength - at, STAGE_BYTES - this.#fill);
      chunk.copy(this.#stages[0]!, this.#fill, at, at + take);
      this.#fill += take;
      at += take;
      if (this.#fill === STAGE_BYTES) await this.#flushStage();
    }
  }

  /** Hands the filled stage to write(2) and swaps in the other one once its own write is done. */
  async #flushStage(): Promise<void> {
    if (this.#fill === 0) return;
    await this.#writing;
    const [full, next] = this.#stages as [Buffer, Buffer];
    const length = this.#fill;
    const position = this.#position;
    this.#position += length;
    this.#writing = Promise.all([writeAt(this.#file!.fd, full, length, position), this.#hasher.update(full, length)]).then(() => {});
    this.#writing.catch(() => {}); // awaited by the next flush or by _final
    if (this.#position - this.#synced >= SYNC_EVERY_BYTES && this.#syncing === undefined) this.#syncBehind(position);
    this.#stages = [next, full];
    this.#fill = 0;
  }
}
