import { close, constants, fstat, fstatSync, open, read, readSync, type Stats } from 'node:fs';
import { open as openHandle, type FileHandle } from 'node:fs/promises';
import { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { localFileChanged, localFileFailure, notARegularFile } from '../errors/factories.js';
import type { DirectBody } from '../store/direct-body.js';

/**
 * Read size for local files: large enough that per-chunk overhead vanishes next to hashing,
 * small enough that a handful of transfers in flight stay within a few MiB each.
 */
export const LOCAL_READ_CHUNK_BYTES = 1024 * 1024;

/** A local file opened for one read from start to end. */
export interface LocalSource {
  /** The bytes; fails with a `ColdStoreError` if a regular file changes while being read. */
  stream: Readable;
  /** The file's length at open; `undefined` for a FIFO, whose length nobody knows up front. */
  size: number | undefined;
}

/** Who is reading, for the errors: the backend (or the pool) and the object key. */
export interface LocalFileContext {
  backend: string;
  key?: string | undefined;
}

/**
 * Opens `path` for reading without ever blocking a thread. `open(2)` of a FIFO that has no
 * writer blocks until one appears, and libuv runs it on its shared threadpool: a few such
 * opens stall every file operation of the process, the broker's too, and an abort cannot free
 * them. So the file is opened `O_NONBLOCK` (which never waits), then checked: a regular file
 * is read in the usual way; a FIFO is read through the event loop (a pipe handle waits for a
 * writer in epoll, not in a thread, and an abort closes it at once); anything else (a folder,
 * a device, a socket) is refused. Failures are `ColdStoreError`s naming the path. A regular
 * file is then held by a FileHandle, a FIFO by its socket, not by a bare descriptor: a pool
 * thread that exits (or is terminated mid-task) closes both, and would leak a bare one (see
 * `TransferPool`).
 */
export async function openLocalSource(path: string, context: LocalFileContext): Promise<LocalSource> {
  let fd: number | undefined;
  try {
    fd = await openFile(path, READ_FLAGS);
  } catch (error) {
    throw localFileFailure(context.backend, context.key, path, error);
  }
  try {
    const stats = await statFile(fd);
    if (stats.isFIFO()) {
      // The socket owns the descriptor from here on, and closes it itself. It must be this first
      // descriptor: a FIFO opened again after a writer came and went never sees that writer's end.
      const socket = new Socket({ fd, readable: true, writable: false });
      fd = undefined;
      return { stream: socket, size: undefined };
    }
    if (!stats.isFile()) throw notARegularFile(context.backend, context.key, path, describeKind(stats));
    // The same file (not what its path names by now), held by a FileHandle; the bare descriptor is closed below.
    const handle = await openHandle(`/proc/self/fd/${fd}`, READ_FLAGS);
    return { stream: new StableFileStream(handle, stats, path, context), size: stats.size };
  } catch (error) {
    throw localFileFailure(context.backend, context.key, path, error);
  } finally {
    if (fd !== undefined) await closeFile(fd).catch(() => {});
  }
}

const READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;
const openFile = promisify(open);
const statFile = promisify(fstat);
const closeFile = promisify(close);
const readFile = (fd: number, buffer: Buffer, position: number) =>
  new Promise<number>((resolve, reject) => read(fd, buffer, 0, buffer.byteLength, position, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead))));

function describeKind(stats: Stats): string {
  if (stats.isDirectory()) return 'a folder';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  if (stats.isSocket()) return 'a socket';
  return 'not a file';
}

/**
 * A regular file read start to end, as a stream or straight into part buffers (`readInto`),
 * that fails instead of ending when the file is not the one it opened: its size or
 * modification time differ at the end from what they were at open (a truncation, an append, a
 * rewrite in place), or a read reaches past its size at open (an append: failed at once,
 * naming the file, before the put sees only a body longer than declared). The put it feeds
 * then fails before its commit, so a changed file never replaces the stored copy. A truncation
 * is always seen (the size, or the end of the bytes, differs); a rewrite that keeps the size is
 * seen by the modification time, which file systems keep only to their clock tick (a few ms),
 * so one within the tick of the open can pass.
 */
export class StableFileStream extends Readable implements DirectBody {
  #position = 0;
  /** The read in flight: the descriptor is closed only once it has settled. */
  #reading: Promise<void> = Promise.resolve();

  constructor(
    private readonly handle: FileHandle,
    private readonly opened: Stats,
    private readonly path: string,
    private readonly context: LocalFileContext,
  ) {
    super({ highWaterMark: LOCAL_READ_CHUNK_BYTES });
  }

  override _read(size: number): void {
    this.#reading = this.#readNext(Math.max(size, LOCAL_READ_CHUNK_BYTES)).catch((error: unknown) => {
      this.destroy(localFileFailure(this.context.backend, this.context.key, this.path, error));
    });
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    void this.#reading
      .finally(() => this.handle.close())
      .then(
        () => callback(error),
        (closeError: unknown) => callback(error ?? (closeError as Error)),
      );
  }

  /**
   * Reads the next bytes straight into `target` (see `DirectBody`); 0 at the end, once the file
   * is found unchanged. Once the stream is destroyed (an abort) it fails with the reason instead
   * of reading: the descriptor is closed then, and its number may already name another file.
   */
  async readInto(target: Buffer, offset: number, length: number): Promise<number> {
    this.#assertOpen();
    // Tracked like a stream read, so `_destroy` closes the descriptor only once it has settled.
    const reading = this.#readAt(target, offset, length);
    this.#reading = reading.then(
      () => {},
      () => {},
    );
    const bytesRead = await reading;
    if (bytesRead === 0 || this.#position > this.opened.size) {
      this.#assertOpen();
      await this.#assertUnchanged();
    }
    return bytesRead;
  }

  /**
   * `readInto` done on the calling thread, blocking it: for a thread that has nothing else to
   * do (a pool worker), where handing each read to libuv's threadpool only adds a second core's
   * cache misses and wake-ups to every chunk.
   */
  readIntoSync(target: Buffer, offset: number, length: number): number {
    this.#assertOpen();
    const bytesRead = readSync(this.handle.fd, target, offset, length, this.#position);
    this.#position += bytesRead;
    if (bytesRead === 0 || this.#position > this.opened.size) this.#checkUnchanged(fstatSync(this.handle.fd));
    return bytesRead;
  }

  async #readNext(size: number): Promise<void> {
    const buffer = Buffer.allocUnsafe(size);
    const bytesRead = await this.#readAt(buffer, 0, size);
    if (this.destroyed) return;
    if (bytesRead > 0 && this.#position <= this.opened.size) {
      this.push(buffer.subarray(0, bytesRead));
      return;
    }
    try {
      await this.#assertUnchanged();
    } catch (error) {
      this.destroy(error as Error);
      return;
    }
    this.push(null);
  }

  async #readAt(target: Buffer, offset: number, length: number): Promise<number> {
    const bytesRead = await readFile(this.handle.fd, target.subarray(offset, offset + length), this.#position);
    this.#position += bytesRead;
    return bytesRead;
  }

  #assertOpen(): void {
    if (this.destroyed) throw this.errored ?? localFileFailure(this.context.backend, this.context.key, this.path, new Error('the file was closed before it was read to its end'));
  }

  /** At the end: the file must be the one opened, with as many bytes as were read. */
  async #assertUnchanged(): Promise<void> {
    this.#checkUnchanged(await this.handle.stat());
  }

  #checkUnchanged(now: Stats): void {
    if (now.size !== this.opened.size || now.mtimeMs !== this.opened.mtimeMs || this.#position !== this.opened.size) {
      const change = `${this.opened.size} bytes at open, ${this.#position} read, ${now.size} now${now.mtimeMs !== this.opened.mtimeMs ? ', modified since' : ''}`;
      throw localFileChanged(this.context.backend, this.context.key, this.path, change);
    }
  }
}
