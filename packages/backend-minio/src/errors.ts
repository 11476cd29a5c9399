import {
  aborted,
  accessDenied,
  alreadyExists,
  checksumMismatch,
  ColdStoreError,
  containerMissing,
  findNetworkErrno,
  invalidRange,
  isAbortError,
  notFound,
  throttled,
  unavailable,
  unrecognizedFailure,
} from '@takhin/core';

export const BACKEND = 'minio';

/** What an operation was about, so a mapped error names it. */
export interface ErrorContext {
  bucket: string;
  key?: string | undefined;
  signal?: AbortSignal | undefined;
}

// S3 error codes as MinIO sends them (in the XML body, or derived from the status by the client).
const ACCESS_DENIED = new Set(['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken', 'AllAccessDisabled']);
const THROTTLED = new Set(['SlowDown', 'SlowDownRead', 'SlowDownWrite', 'TooManyRequests', 'RequestLimitExceeded']);
const UNAVAILABLE = new Set(['ServiceUnavailable', 'InternalError', 'RequestTimeout', 'XMinioServerNotInitialized', 'XMinioStorageFull']);
const CHECKSUM = new Set(['BadDigest', 'InvalidDigest', 'XAmzContentChecksumMismatch', 'XAmzContentSHA256Mismatch', 'InvalidChecksum']);

/**
 * Maps anything the minio client (or the network under it) throws to the contract's
 * `ColdStoreError`, keeping the original as `cause`. An unrecognised code is a non-retryable
 * UNAVAILABLE naming it, so callers still see one error class.
 */
export function toColdStoreError(error: unknown, context: ErrorContext): ColdStoreError {
  if (error instanceof ColdStoreError) return error;
  const { bucket, key } = context;
  if (isAbortError(error, context.signal)) return aborted(BACKEND, key, error);
  const errno = findNetworkErrno(error);
  if (errno) return unavailable(BACKEND, key, `cannot reach the endpoint (${errno})`, error);

  const s3 = error as { code?: unknown; name?: string; message?: string };
  const code = typeof s3.code === 'string' ? s3.code : (s3.name ?? 'Error');
  const detail = `${code}: ${s3.message ?? ''}`;
  if (code === 'NoSuchBucket') return containerMissing(BACKEND, 'bucket', bucket, key, error);
  if (code === 'NoSuchKey' || code === 'NotFound') return notFound(BACKEND, key ?? '', error);
  if (code === 'PreconditionFailed') return alreadyExists(BACKEND, key ?? '', error);
  if (code === 'InvalidRange') return invalidRange(BACKEND, key ?? '', detail, error);
  if (CHECKSUM.has(code)) return checksumMismatch(BACKEND, key ?? '', `the server rejected the bytes' checksum (${detail})`, error);
  if (ACCESS_DENIED.has(code)) return accessDenied(BACKEND, key, detail, error);
  if (THROTTLED.has(code)) return throttled(BACKEND, key, error);
  if (UNAVAILABLE.has(code)) return unavailable(BACKEND, key, detail, error);
  // With retries off, the client reports a 5xx or 429 only as "Retryable HTTP status: 503",
  // without the body's code. S3 defines 503 as "slow down" (MinIO answers 503 SlowDown when
  // overloaded), so 429 and 503 are throttling; other 5xx are outages. Both are retryable.
  const status = /Retryable HTTP status: (\d+)/.exec(s3.message ?? '')?.[1];
  if (status === '429' || status === '503') return throttled(BACKEND, key, error);
  if (status !== undefined) return unavailable(BACKEND, key, `HTTP ${status}`, error);
  return unrecognizedFailure(BACKEND, key, detail, error);
}
