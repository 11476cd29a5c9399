import { ColdStoreError, accessDenied, aborted, isAbortError, notFound, unavailable } from '@takhin/core';

export const FS_BACKEND = 'fs';

/** Maps a filesystem error to the contract's codes. */
export function mapFsError(error: unknown, key: string | undefined, signal?: AbortSignal): ColdStoreError {
  if (error instanceof ColdStoreError) return error;
  if (isAbortError(error, signal)) return aborted(FS_BACKEND, key, error);
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return notFound(FS_BACKEND, key ?? '', error);
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return accessDenied(FS_BACKEND, key, (error as Error).message, error);
    default:
      // ENOSPC, EIO, ENOTDIR on the root itself …: the store cannot serve right now.
      return unavailable(FS_BACKEND, key, (error as Error).message, error);
  }
}
