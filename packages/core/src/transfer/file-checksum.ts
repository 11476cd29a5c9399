import { addAbortSignal } from 'node:stream';
import { ChecksumAccumulator } from '../checksums/checksums.js';
import { aborted, localFileFailure } from '../errors/factories.js';
import { LOCAL_READ_CHUNK_BYTES, openLocalSource } from './local-file.js';
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
}

/**
 * CRC32C and SHA-256 of a local file (and, with `chunkSize`, of its chunks), in one read, on
 * the calling thread. The pool runs this in a worker; it is exported so one-thread baselines
 * (the bench) measure exactly the same work.
 */
export async function checksumLocalFile(path: string, options: ChecksumLocalFileOptions = {}): Promise<FileChecksums> {
  const accumulator = new ChecksumAccumulator({ chunkSize: options.chunkSize });
  const { stream } = await openLocalSource(path, { backend: TRANSFER_POOL });
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
  const chunks = accumulator.chunks();
  return { size: accumulator.bytes, ...accumulator.digest(), ...(chunks && { chunks }) };
}
