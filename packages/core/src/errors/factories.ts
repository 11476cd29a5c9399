import { ColdStoreError } from './cold-store-error.js';

// One factory per failure, so every backend words the same failure the same way.

export const notFound = (backend: string, key: string, cause?: unknown) =>
  new ColdStoreError('NOT_FOUND', `${backend}: object "${key}" does not exist`, { backend, key, cause });

export const alreadyExists = (backend: string, key: string, cause?: unknown) =>
  new ColdStoreError('ALREADY_EXISTS', `${backend}: object "${key}" already exists (ifNoneMatch)`, {
    backend,
    key,
    cause,
  });

export const checksumMismatch = (backend: string, key: string, detail: string, cause?: unknown) =>
  new ColdStoreError('CHECKSUM_MISMATCH', `${backend}: checksum mismatch for "${key}": ${detail}`, {
    backend,
    key,
    cause,
  });

/** A local file that changed while a transfer read it (a broker rewrote or truncated it): its bytes cannot be vouched for. */
export const localFileChanged = (backend: string, key: string | undefined, path: string, change: string) =>
  new ColdStoreError('CHECKSUM_MISMATCH', `${backend}: local file "${path}" changed while being read (${change})`, { backend, key, localPath: path });

export const invalidKey = (backend: string, key: unknown, reason: string) =>
  new ColdStoreError('INVALID_KEY', `${backend}: invalid key ${JSON.stringify(key)}: ${reason}`, {
    backend,
    key: typeof key === 'string' ? key : undefined,
  });

export const invalidRange = (backend: string, key: string, detail: string, cause?: unknown) =>
  new ColdStoreError('INVALID_RANGE', `${backend}: invalid range for "${key}": ${detail}`, { backend, key, cause });

export const accessDenied = (backend: string, key: string | undefined, detail: string, cause?: unknown) =>
  new ColdStoreError('ACCESS_DENIED', `${backend}: access denied${key ? ` to "${key}"` : ''}: ${detail}`, {
    backend,
    key,
    cause,
  });

export const throttled = (backend: string, key: string | undefined, cause?: unknown) =>
  new ColdStoreError('THROTTLED', `${backend}: request throttled by the server${key ? ` for "${key}"` : ''}`, {
    backend,
    key,
    cause,
  });

export const unavailable = (backend: string, key: string | undefined, detail: string, cause?: unknown) =>
  new ColdStoreError('UNAVAILABLE', `${backend}: service unavailable${key ? ` for "${key}"` : ''}: ${detail}`, {
    backend,
    key,
    cause,
  });

export const aborted = (backend: string, key: string | undefined, cause?: unknown) =>
  new ColdStoreError('ABORTED', `${backend}: operation aborted${key ? ` for "${key}"` : ''}`, { backend, key, cause });

/**
 * The bucket or container the config names does not exist: every call fails until an operator
 * fixes the config, so the error names the setting.
 */
export const containerMissing = (backend: string, kind: 'bucket' | 'container', name: string, key?: string, cause?: unknown) =>
  new ColdStoreError('NOT_FOUND', `${backend}: ${kind} "${name}" does not exist (storage.tiered.${backend}.${kind})`, {
    backend,
    key,
    cause,
  });

/**
 * A failure the server reported that no contract code describes (an unexpected 400, an
 * unknown error code): still one error class for callers, and not retried, since nothing
 * says another attempt would fare better.
 */
export const unrecognizedFailure = (backend: string, key: string | undefined, detail: string, cause?: unknown) =>
  new ColdStoreError('UNAVAILABLE', `${backend}: request failed${key ? ` for "${key}"` : ''}: ${detail}`, {
    backend,
    key,
    cause,
    retryable: false,
  });

/**
 * A body shorter or longer than the `size` its caller declared: refused before anything
 * becomes visible, so a truncated source never replaces a good copy.
 */
export const sizeMismatch = (backend: string, key: string, declared: number, actual: number) =>
  checksumMismatch(
    backend,
    key,
    actual > declared
      ? `the body is longer than its declared size of ${declared} bytes (over ${declared} read)`
      : `declared size ${declared} bytes, the body ended after ${actual}`,
  );

/**
 * The caller's body stream failed while a put read it. Not retried here: a stream cannot be
 * read twice. A `ColdStoreError` the body raised itself (the pool's "file changed") is kept.
 */
export function bodyFailure(backend: string, key: string, cause: unknown): ColdStoreError {
  if (cause instanceof ColdStoreError) return cause;
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new ColdStoreError('UNAVAILABLE', `${backend}: the body of "${key}" could not be read: ${detail}`, { backend, key, cause, retryable: false });
}

/**
 * A local file the TransferPool reads or writes failed, mapped by its errno and naming the
 * path. A full disk is not retryable: another attempt a moment later meets the same disk.
 */
export function localFileFailure(backend: string, key: string | undefined, path: string, cause: unknown): ColdStoreError {
  if (cause instanceof ColdStoreError) return cause;
  const code = (cause as NodeJS.ErrnoException | null)?.code;
  const detail = `${code ?? 'error'}: ${cause instanceof Error ? cause.message : String(cause)}`;
  const about = `local file "${path}"`;
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return new ColdStoreError('NOT_FOUND', `${backend}: ${about} (or a folder on its path) does not exist (${detail})`, { backend, key, cause, localPath: path });
    case 'EISDIR':
      return notARegularFile(backend, key, path, 'a folder', cause);
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new ColdStoreError('ACCESS_DENIED', `${backend}: access denied to ${about} (${detail})`, { backend, key, cause, localPath: path });
    case 'EMFILE':
    case 'ENFILE':
    case 'EAGAIN':
      return new ColdStoreError('UNAVAILABLE', `${backend}: ${about} cannot be opened right now (${detail})`, { backend, key, cause, localPath: path });
    case 'ENOSPC':
    case 'EDQUOT':
    case 'EFBIG':
      return new ColdStoreError('UNAVAILABLE', `${backend}: no space left for ${about} (${detail})`, { backend, key, cause, retryable: false, localPath: path });
    default:
      return new ColdStoreError('UNAVAILABLE', `${backend}: ${about} failed (${detail})`, { backend, key, cause, retryable: false, localPath: path });
  }
}

/** A path that names a folder, device or socket where a regular file (or a FIFO) was expected. */
export const notARegularFile = (backend: string, key: string | undefined, path: string, what: string, cause?: unknown) =>
  new ColdStoreError('NOT_FOUND', `${backend}: local file "${path}" is ${what}, not a regular file`, { backend, key, cause, localPath: path });

/** A body too large for the configured part size: the server numbers at most `maxParts` parts. */
export const tooManyParts = (backend: string, key: string, maxParts: number, partSize: number) =>
  new ColdStoreError(
    'UNAVAILABLE',
    `${backend}: "${key}" needs more than ${maxParts} parts of ${partSize} bytes; raise the backend's part size (storage.tiered.${backend}.partSizeMb)`,
    { backend, key, retryable: false },
  );
