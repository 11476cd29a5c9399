import { addAbortSignal, type Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { ChecksumAccumulator } from '../checksums/checksums.js';
import { aborted, localFileFailure } from '../errors/factories.js';
import { isDirectBody, type DirectBody } from '../store/direct-body.js';
import { LOCAL_READ_CHUNK_BYTES, openLocalSource, StableFileStream } from './local-file.js';
import { TRANSFER_POOL } from './transfer-error.js';
import type { FileChecksums } from './transfer-task.js';

export { LOCAL_READ_CHUNK_BYTES };

export interface LocalFileOptions {
  signal?: AbortSignal | undefined;
  /** Called with the running total of bytes read. */
  onProgress?: ((bytes: number) => void) | undefined;
}

export interface ChecksumLocalFileOptions extends LocalFileOptions {
  /** Also return the CRC32C of every `chunkSize`-byte slice, from the same pass. */
  chunkSize?: number | undefined;
  /**
   * Read a regular file on the calling thread, blocking it between turns of its event loop (one
   * every `SYNC_TURN_BYTES`, for aborts and progress): for a thread with nothing else to do, a
   * pool worker. About a sixth less CPU per byte than reads on libuv's threadpool, whose copies
   * land in another core's cache (docs/ARCHITECTURE.md, "The worker pool").
   */
  readOnThisThread?: boolean | undefined;
}

/**
 * CRC32C and SHA-256 of a local file (and, with `chunkSize`, of its chunks), in one read, on
 * the calling thread. The pool runs this in a worker; it is exported so one-thread baselines
 * (the bench) measure exactly the same work.
 */
export async function checksumLocalFile(path: string, options: ChecksumLocalFileOptions = {}): Promise<FileChecksums> {
  const accumulator = new ChecksumAccumulator({ chunkSize: options.chunkSize });
  const { stream } = await openLocalSource(path, { backend: TRANSFER_POOL });
  if (options.readOnThisThread && stream instanceof StableFileStream) return checksumOnThisThread(stream, accumulator, path, options);
  if (isDirectBody(stream)) return checksumDirect(stream, stream, accumulator, path, options);
  if (options.signal) addAbortSignal(options.signal, stream);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      accumulator.update(chunk);
      options.onProgress?.(accumulator.bytes);
    }
  } catch (error) {
    if (options.signal?.aborted) throw aborted(TRANSFER_POOL, undefined, error);
    throw localFileFailure(TRANSFER_POOL, undefined, path, error);
  } finally {
    stream.destroy();
  }
  return finish(accumulator);
}

function finish(accumulator: ChecksumAccumulator): FileChecksums {
  const chunks = accumulator.chunks();
  return { size: accumulator.bytes, ...accumulator.digest(), ...(chunks && { chunks }) };
}

/** Bytes per read of a regular file: two such buffers take turns, one read while the other is hashed. */
const DIRECT_READ_BYTES = 4 * LOCAL_READ_CHUNK_BYTES;

/**
 * A regular file read straight into two reused buffers that take turns: the next read is in
 * flight (on libuv's threadpool) while this thread hashes the bytes of the last one, and no
 * buffer is left for the garbage collector. Ends (as `readInto` does) only once the file is
 * found unchanged.
 */
async function checksumDirect(direct: DirectBody, stream: Readable, accumulator: ChecksumAccumulator, path: string, options: ChecksumLocalFileOptions): Promise<FileChecksums> {
  const buffers = [Buffer.allocUnsafeSlow(DIRECT_READ_BYTES), Buffer.allocUnsafeSlow(DIRECT_READ_BYTES)] as const;
  const fill = async (buffer: Buffer): Promise<number> => {
    let filled = 0;
    for (let read = -1; filled < buffer.byteLength && read !== 0; filled += read) read = await direct.readInto(buffer, filled, buffer.byteLength - filled);
    return filled;
  };
  // The read in flight: awaited before the file is closed, which must never happen under a read.
  let reading: Promise<number> | undefined;
  try {
    reading = fill(buffers[0]);
    for (let turn = 0; ; turn++) {
      const length = await reading;
      reading = undefined;
      if (length === 0) break;
      if (options.signal?.aborted) throw aborted(TRANSFER_POOL, undefined, options.signal.reason);
      const current = buffers[turn % 2]!;
      reading = fill(buffers[(turn + 1) % 2]!);
      accumulator.update(current.subarray(0, length));
      options.onProgress?.(accumulator.bytes);
    }
  } catch (error) {
    await reading?.catch(() => {});
    if (options.signal?.aborted) throw aborted(TRANSFER_POOL, undefined, error);
    throw localFileFailure(TRANSFER_POOL, undefined, path, error);
  } finally {
    stream.destroy();
  }
  return finish(accumulator);
}

/** Bytes read and hashed between two turns of the event loop when reading on this thread. */
const SYNC_TURN_BYTES = 16 * LOCAL_READ_CHUNK_BYTES;

/**
 * A regular file read on this thread into one reused buffer, each chunk hashed while it is
 * still in this core's cache. Ends (as `readInto` does) only once the file is found unchanged.
 */
async function checksumOnThisThread(file: StableFileStream, accumulator: ChecksumAccumulator, path: string, options: ChecksumLocalFileOptions): Promise<FileChecksums> {
  const buffer = Buffer.allocUnsafeSlow(LOCAL_READ_CHUNK_BYTES);
  try {
    for (let sinceTurn = 0; ; ) {
      const length = file.readIntoSync(buffer, 0, buffer.byteLength);
      if (length === 0) break;
      accumulator.update(buffer.subarray(0, length));
      sinceTurn += length;
      if (sinceTurn >= SYNC_TURN_BYTES) {
        sinceTurn = 0;
        options.onProgress?.(accumulator.bytes);
        await nextTurn();
        if (options.signal?.aborted) throw aborted(TRANSFER_POOL, undefined, options.signal.reason);
      }
    }
  } catch (error) {
    if (options.signal?.aborted) throw aborted(TRANSFER_POOL, undefined, error);
    throw localFileFailure(TRANSFER_POOL, undefined, path, error);
  } finally {
    file.destroy();
  }
  options.onProgress?.(accumulator.bytes);
  return finish(accumulator);
}
