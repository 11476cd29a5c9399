import { ColdStoreError, accessDenied, aborted, invalidKey, isAbortError, notFound, unavailable, type ErrorContext } from '@takhin/core';

export const FS_BACKEND = 'fs';

/** Maps a filesystem error to the contract's codes. */
export function mapFsError(error: unknown, context: ErrorContext = {}): ColdStoreError {
  if (error instanceof ColdStoreError) return error;
  const { key, signal } = context;
  if (isAbortError(error, signal)) return aborted(FS_BACKEND, key, error);
  const code = (error as NodeJS.ErrnoException).code;
  const message = (error as Error).message;
  switch (code) {
    case 'ENOENT':
      return notFound(FS_BACKEND, key ?? '', error);
    case 'ENAMETOOLONG':
      return invalidKey(FS_BACKEND, key, `the filesystem refuses a name this long (${message})`);
    case 'ELOOP':
      return invalidKey(FS_BACKEND, key, 'the object is a symbolic link');
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return accessDenied(FS_BACKEND, key, message, error);
    case 'ENOSPC':
    case 'EDQUOT':
      // A full disk stays full for the next attempt: not worth retrying at once.
      return new ColdStoreError('UNAVAILABLE', `${FS_BACKEND}: no space left${key ? ` for "${key}"` : ''}: ${message}`, { backend: FS_BACKEND, key, cause: error, retryable: false });
    default:
      // EIO, EMFILE, ENOTDIR on the root itself …: the store cannot serve right now.
      return unavailable(FS_BACKEND, key, message, error);
  }
}

/** ENOENT or ENOTDIR: the path (or a folder on it) is not there. */
export function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
