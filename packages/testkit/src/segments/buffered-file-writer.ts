import { open, type FileHandle } from 'node:fs/promises';

/**
 * Appends to a new file through two fixed buffers: callers encode straight into `buffer`
 * at `filled`, and a full buffer is written while the other one fills, so encoding and disk
 * writes overlap. Memory: 2 × `bufferBytes`, whatever the file's size; one syscall per buffer.
 */
export class BufferedFileWriter {
  #buffer: Buffer;
  #spare: Buffer;
  #filled = 0;
  #written = 0;
  #pending: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly handle: FileHandle,
    readonly bufferBytes: number,
  ) {
    this.#buffer = Buffer.allocUnsafe(bufferBytes);
    this.#spare = Buffer.allocUnsafe(bufferBytes);
  }

  /** Creates (or truncates) `path`. */
  static async create(path: string, bufferBytes: number): Promise<BufferedFileWriter> {
    return new BufferedFileWriter(await open(path, 'w'), bufferBytes);
  }

  /** The buffer to encode into, from `filled` on; call `ensureRoom` first, `advance` after. */
  get buffer(): Buffer {
    return this.#buffer;
  }

  get filled(): number {
    return this.#filled;
  }

  /** Bytes appended so far, buffered or not: the file position of the next byte. */
  get position(): number {
    return this.#written + this.#filled;
  }

  /** Makes room for `bytes` more in `buffer`, writing out what it holds if needed. */
  async ensureRoom(bytes: number): Promise<void> {
    if (bytes > this.bufferBytes) throw new RangeError(`${bytes} bytes do not fit a ${this.bufferBytes}-byte write buffer`);
    if (this.#filled + bytes > this.bufferBytes) await this.#flush();
  }

  advance(bytes: number): void {
    this.#filled += bytes;
  }

  async append(bytes: Uint8Array): Promise<void> {
    await this.ensureRoom(bytes.byteLength);
    this.#buffer.set(bytes, this.#filled);
    this.#filled += bytes.byteLength;
  }

  async #flush(): Promise<void> {
    await this.#pending; // the spare buffer is free again once its write has finished
    const full = this.#buffer;
    const length = this.#filled;
    const position = this.#written;
    const write = length === 0 ? Promise.resolve() : writeFully(this.handle, full, length, position);
    write.catch(() => undefined); // handled: the failure surfaces at the next flush or close
    this.#pending = write;
    this.#written += length;
    this.#buffer = this.#spare;
    this.#spare = full;
    this.#filled = 0;
  }

  /** Writes what is buffered, optionally extends the file with zeros (sparse) to `size`, fsyncs and closes. */
  async close(options: { extendTo?: number } = {}): Promise<void> {
    try {
      await this.#flush();
      await this.#pending;
      if (options.extendTo !== undefined && options.extendTo > this.#written) await this.handle.truncate(options.extendTo);
      await this.handle.sync();
    } finally {
      await this.handle.close();
    }
  }

  /** Closes without caring about the content (after a failure). */
  async abandon(): Promise<void> {
    await this.#pending.catch(() => undefined);
    await this.handle.close().catch(() => undefined);
  }
}

async function writeFully(handle: FileHandle, buffer: Buffer, length: number, position: number): Promise<void> {
  for (let done = 0; done < length; ) {
    const { bytesWritten } = await handle.write(buffer, done, length - done, position + done);
    done += bytesWritten;
  }
}
