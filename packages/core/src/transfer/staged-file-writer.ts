import { write } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { ChecksumAccumulator } from '../checksums/checksums.js';

/** Bytes gathered before one write(2): a body's 64 KiB socket chunks become a few large writes. */
export const STAGE_BYTES = 4 * 1024 * 1024;

const writeOnce = (fd: number, buffer: Buffer, offset: number, length: number, position: number) =>
  new Promise<number>((resolve, reject) => write(fd, buffer, offset, length, position, (error, written) => (error ? reject(error) : resolve(written))));

/** Writes all `length` bytes at `position`; a short write is continued, so a full disk fails with its own ENOSPC. */
async function writeAt(fd: number, buffer: Buffer, length: number, position: number): Promise<void> {
  for (let done = 0; done < length; ) done += await writeOnce(fd, buffer, done, length - done, position + done);
}

/**
 * A download's sink: hashes every chunk as it arrives (CRC32C and SHA-256, one pass) and
 * gathers chunks into two staging buffers that take turns, one filling while the other is
 * written, so a file gets one write(2) per 4 MiB instead of one per socket chunk, through one
 * stream instead of two. `final` writes the rest and fsyncs; the file is created with `wx`
 * (never someone else's file) and closed however the stream ends.
 */
export class StagedFileWriter extends Writable {
  readonly accumulator = new ChecksumAccumulator();
  #file: FileHandle | undefined;
  #stages: Buffer[] = [Buffer.allocUnsafeSlow(STAGE_BYTES), Buffer.allocUnsafeSlow(STAGE_BYTES)];
  #fill = 0;
  #position = 0;
  /** The write of the previous stage, awaited before its buffer is filled again. */
  #writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly path: string,
    private readonly onProgress?: ((bytes: number) => void) | undefined,
  ) {
    super({ highWaterMark: STAGE_BYTES });
  }

  get bytes(): number {
    return this.accumulator.bytes;
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
    this.accumulator.update(chunk);
    this.onProgress?.(this.accumulator.bytes);
    this.#stage(chunk).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#flushStage()
      .then(() => this.#writing)
      .then(() => this.#file!.sync())
      .then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const file = this.#file;
    this.#file = undefined;
    void this.#writing
      .catch(() => {})
      .then(() => file?.close())
      .then(
        () => callback(error),
        (closeError: Error) => callback(error ?? closeError),
      );
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
    this.#writing = writeAt(this.#file!.fd, full, length, position);
    this.#writing.catch(() => {}); // awaited by the next flush or by _final
    this.#stages = [next, full];
    this.#fill = 0;
  }
}
