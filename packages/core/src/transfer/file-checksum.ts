import { createReadStream } from 'node:fs';
import { ChecksumAccumulator } from '../checksums/checksums.js';
import type { FileChecksums } from './transfer-task.js';

/**
 * Read size for local files: large enough that per-chunk overhead vanishes next to hashing,
 * small enough that a handful of transfers in flight stay within a few MiB each.
 */
export const LOCAL_READ_CHUNK_BYTES = 1024 * 1024;

export interface LocalFileOptions {
  signal?: AbortSignal | undefined;
  /** Called with the running total of bytes read. */
  onProgress?: ((bytes: number) => void) | undefined;
}

/**
 * CRC32C and SHA-256 of a local file, in one read, on the calling thread. The pool runs this in
 * a worker; it is exported so one-thread baselines (the bench) measure exactly the same work.
 */
export async function checksumLocalFile(path: string, options: LocalFileOptions = {}): Promise<FileChecksums> {
  const accumulator = new ChecksumAccumulator();
  const stream = createReadStream(path, { highWaterMark: LOCAL_READ_CHUNK_BYTES, signal: options.signal });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    accumulator.update(chunk);
    options.onProgress?.(accumulator.bytes);
  }
  return { size: accumulator.bytes, ...accumulator.digest() };
}
