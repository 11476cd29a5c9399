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
