import type { ColdStore } from '../contracts/cold-store.js';
import { TieringError } from '../errors/tiering-error.js';
import { manifestFiles, type SegmentManifest } from './segment-manifest.js';

/**
 * Heads every file a manifest lists and checks the cold store's size and checksums against it:
 * the proof, before a local copy is deleted, that the remote one is whole. A missing object is
 * `REMOTE_MISSING`, a different one `REMOTE_CORRUPT`, each naming the file and the key.
 */
export async function verifyRemoteFiles(store: ColdStore, segmentPath: string, files: SegmentManifest['files'], signal?: AbortSignal): Promise<void> {
  await Promise.all(
    manifestFiles({ files }).map(async ([extension, file]) => {
      const remote = await store.head(file.key, { signal });
      if (remote === null) {
        throw new TieringError('REMOTE_MISSING', `the .${extension} of ${segmentPath} is missing from the ${store.backend} cold store (key ${file.key})`, segmentPath);
      }
      const problem =
        remote.size !== file.size
          ? `${remote.size} bytes, expected ${file.size}`
          : remote.checksums.crc32c !== undefined && remote.checksums.crc32c !== file.crc32c
            ? `CRC32C ${remote.checksums.crc32c}, expected ${file.crc32c}`
            : remote.checksums.sha256 !== undefined && remote.checksums.sha256 !== file.sha256
              ? `SHA-256 ${remote.checksums.sha256}, expected ${file.sha256}`
              : remote.checksums.crc32c === undefined && remote.checksums.sha256 === undefined
                ? 'the cold store reports no checksum to verify it by'
                : undefined;
      if (problem !== undefined) {
        throw new TieringError('REMOTE_CORRUPT', `the .${extension} of ${segmentPath} in the ${store.backend} cold store (key ${file.key}) is not what was archived: ${problem}`, segmentPath);
      }
    }),
  );
}

/**
 * Whether `error` says the cold store's copy of a segment is missing or damaged (`REMOTE_MISSING`,
 * `REMOTE_CORRUPT`), as opposed to the store not answering, which says nothing about the copy.
 */
export function isRemoteDamage(error: unknown): error is TieringError {
  return error instanceof TieringError && (error.code === 'REMOTE_MISSING' || error.code === 'REMOTE_CORRUPT');
}

/** What `verifyRemoteFiles` finds missing or damaged, or undefined when every object checks out; a store that does not answer fails. */
export function remoteDamage(store: ColdStore, segmentPath: string, files: SegmentManifest['files'], signal?: AbortSignal): Promise<string | undefined> {
  return verifyRemoteFiles(store, segmentPath, files, signal).then(
    () => undefined,
    (error: unknown) => {
      if (isRemoteDamage(error)) return error.message;
      throw error;
    },
  );
}
