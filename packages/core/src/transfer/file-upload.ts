import { pipeline } from 'node:stream';
import { isMainThread } from 'node:worker_threads';
import { ChecksumStream } from '../checksums/checksums.js';
import type { ColdStore } from '../contracts/cold-store.js';
import { aborted } from '../errors/factories.js';
import { throwIfAborted } from '../errors/signals.js';
import { DriverColdStore } from '../store/driver-cold-store.js';
import { checksumLocalFile, type LocalFileOptions } from './file-checksum.js';
import { openLocalSource } from './local-file.js';
import type { UploadResult } from './transfer-task.js';

export interface UploadLocalFileOptions extends LocalFileOptions {
  /** User metadata stored with the object. */
  metadata?: Record<string, string> | undefined;
  /** Create only if absent (`ALREADY_EXISTS` otherwise). */
  ifNoneMatch?: boolean | undefined;
  /** Also return the CRC32C of every `chunkSize`-byte slice of the file, from the same pass. */
  chunkSize?: number | undefined;
}

/**
 * Streams a local file into `store` under `key`, on the calling thread, and resolves to the
 * stored description with both checksums (and the chunks' CRC32Cs when asked). The file is
 * read once and each byte hashed once, by the store's write path, except where the store
 * reports `checksumsFirstFrom` and the file is that large: it is then hashed first, in a pass
 * of its own, and the put declares both checksums (docs/ARCHITECTURE.md, "The worker pool").
 * Its size at open is the put's declared size, and the read fails if the file changes before
 * it ends, so a file truncated, grown or rewritten meanwhile fails the put before its commit:
 * the stored copy, if any, stays, and nothing needs deleting afterwards. A FIFO is read as it
 * comes, with no declared size. The pool runs this in a worker; it is exported for one-thread
 * baselines.
 */
export async function uploadLocalFile(
  store: ColdStore,
  path: string,
  key: string,
  options: UploadLocalFileOptions = {},
): Promise<UploadResult> {
  throwIfAborted(options.signal, store.backend, key);
  const { stream, size } = await openLocalSource(path, { backend: store.backend, key });
  // A file read straight into part buffers has no stream reader to hear its errors: the put
  // learns of them (and of an abort) from its own reads and signal. Without a listener the
  // abort's error below was an uncaught exception that ended the process (a pool worker).
  stream.on('error', () => {});
  // On abort the body fails at once, so no store sits waiting on a slow read (NFS, a pipe).
  const stopBody = () => stream.destroy(aborted(store.backend, key, options.signal?.reason));
  options.signal?.addEventListener('abort', stopBody, { once: true });
  try {
    // A file changed since it was hashed first no longer matches `checksums`: the put fails.
    const checksums = await checksumsFirst(store, path, size, options.signal);
    const put = { size, checksums, metadata: options.metadata, ifNoneMatch: options.ifNoneMatch, signal: options.signal, onProgress: options.onProgress };
    if (store instanceof DriverColdStore || options.chunkSize === undefined) {
      const stored = await store.put(key, stream, { ...put, crc32cChunkSize: options.chunkSize });
      return { ...stored, checksums: { crc32c: stored.checksums.crc32c!, sha256: stored.checksums.sha256! } };
    }
    // A store not built on core's write path cannot cut chunks: hash them here (a second pass
    // over the bytes, for such stores only).
    const hashing = new ChecksumStream({ chunkSize: options.chunkSize });
    const stored = await store.put(key, pipeline(stream, hashing, () => {}), put);
    return { ...stored, checksums: hashing.checksums, chunks: hashing.accumulator.chunks() };
  } finally {
    options.signal?.removeEventListener('abort', stopBody);
    stream.destroy();
  }
}

/** Both checksums of the file (`size`: undefined for a FIFO), when the store gains from having them before the first byte. */
async function checksumsFirst(store: ColdStore, path: string, size: number | undefined, signal: AbortSignal | undefined) {
  const from = store.capabilities.checksumsFirstFrom;
  if (from === undefined || size === undefined || size < from) return undefined;
  const { crc32c, sha256 } = await checksumLocalFile(path, { signal, readOnThisThread: !isMainThread });
  return { crc32c, sha256 };
}
