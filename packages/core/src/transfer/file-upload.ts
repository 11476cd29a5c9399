import { open } from 'node:fs/promises';
import type { ReadStream } from 'node:fs';
import { pipeline } from 'node:stream';
import { ChecksumStream, describeChecksumMismatch } from '../checksums/checksums.js';
import type { ColdStore } from '../contracts/cold-store.js';
import { aborted, checksumMismatch } from '../errors/factories.js';
import { throwIfAborted } from '../errors/signals.js';
import { LOCAL_READ_CHUNK_BYTES, type LocalFileOptions } from './file-checksum.js';
import type { UploadResult } from './transfer-task.js';

export interface UploadLocalFileOptions extends LocalFileOptions {
  /** User metadata stored with the object. */
  metadata?: Record<string, string> | undefined;
  /** Create only if absent (`ALREADY_EXISTS` otherwise). */
  ifNoneMatch?: boolean | undefined;
}

/**
 * Streams a local file into `store` under `key`, computing CRC32C and SHA-256 in the same pass
 * as the bytes go out, on the calling thread. Resolves to the stored description with both
 * local checksums. If what the backend reports storing differs from what was read, or the file
 * changed length while being read, the object is deleted and the upload fails with
 * `CHECKSUM_MISMATCH`. The pool runs this in a worker; it is exported for one-thread baselines.
 */
export async function uploadLocalFile(
  store: ColdStore,
  path: string,
  key: string,
  options: UploadLocalFileOptions = {},
): Promise<UploadResult> {
  throwIfAborted(options.signal, store.backend, key);
  const handle = await open(path, 'r');
  let source: ReadStream | undefined;
  let stopBody: (() => void) | undefined;
  try {
    const stats = await handle.stat();
    // A pipe or device has no length up front; the backend then streams without one.
    const size = stats.isFile() ? stats.size : undefined;
    source = handle.createReadStream({ highWaterMark: LOCAL_READ_CHUNK_BYTES });
    const hashing = new ChecksumStream(options.onProgress);
    // A read error destroys the hashing stream too, so the backend sees it and abandons the put.
    pipeline(source, hashing, () => {});
    // On abort the body fails at once, so no backend sits waiting on a slow read (NFS, a pipe).
    stopBody = () => hashing.destroy(aborted(store.backend, key, options.signal?.reason));
    options.signal?.addEventListener('abort', stopBody, { once: true });
    const stored = await store.put(key, hashing, {
      size,
      metadata: options.metadata,
      ifNoneMatch: options.ifNoneMatch,
      signal: options.signal,
    });

    const checksums = hashing.checksums;
    const problem =
      size !== undefined && hashing.bytes !== size
        ? `the file changed while being read: ${size} bytes at open, ${hashing.bytes} read`
        : describeChecksumMismatch(stored.checksums, checksums);
    if (problem !== undefined) {
      await store.delete(key);
      throw checksumMismatch(store.backend, key, `stored object differs from ${path}: ${problem}`);
    }
    return { ...stored, checksums };
  } finally {
    if (stopBody) options.signal?.removeEventListener('abort', stopBody);
    // Closes the file if the backend gave up before reading to the end.
    if (source) source.destroy();
    else await handle.close();
  }
}
