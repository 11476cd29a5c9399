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

export const BACKEND = 's3';

/** What an operation was about, so a mapped error names it. */
export interface ErrorContext {
  bucket: string;
  key?: string | undefined;
  signal?: AbortSignal | undefined;
}

const ACCESS_DENIED = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'CredentialsProviderError',
  'AllAccessDisabled',
  'AccountProblem',
  'KMS.AccessDeniedException',
]);
const THROTTLED = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequests']);
const UNAVAILABLE = new Set(['ServiceUnavailable', 'InternalError', 'RequestTimeout', 'RequestTimeTooSkewed', 'TimeoutError', 'XMinioServerNotInitialized']);
const CHECKSUM = new Set(['BadDigest', 'InvalidDigest', 'XAmzContentChecksumMismatch', 'XAmzContentSHA256Mismatch', 'InvalidChecksum']);

/**
 * Maps anything the SDK (or the network under it) throws to the contract's `ColdStoreError`,
 * keeping the original as `cause`. A code we do not recognise is a non-retryable UNAVAILABLE
 * naming the SDK's code, so callers still see one error class.
 */
export function toColdStoreError(error: unknown, context: ErrorContext): ColdStoreError {
  if (error instanceof ColdStoreError) return error;
  const { bucket, key } = context;
  if (isAbortError(error, context.signal)) return aborted(BACKEND, key, error);
  const errno = findNetworkErrno(error);
  if (errno) return unavailable(BACKEND, key, `cannot reach the endpoint (${errno})`, error);

  const sdk = error as { name?: string; Code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const code = sdk.Code ?? sdk.name ?? 'Error';
  const status = sdk.$metadata?.httpStatusCode;
  const detail = `${code}${status ? ` (HTTP ${status})` : ''}: ${sdk.message ?? ''}`;

  if (code === 'NoSuchBucket') return containerMissing(BACKEND, 'bucket', bucket, key, error);
  if (code === 'NoSuchKey' || code === 'NotFound' || status === 404) return notFound(BACKEND, key ?? '', error);
  if (code === 'PreconditionFailed' || status === 412) return alreadyExists(BACKEND, key ?? '', error);
  if (code === 'InvalidRange' || status === 416) return invalidRange(BACKEND, key ?? '', detail, error);
  if (CHECKSUM.has(code)) return checksumMismatch(BACKEND, key ?? '', `the server rejected the bytes' checksum (${detail})`, error);
  if (ACCESS_DENIED.has(code) || status === 401 || status === 403) return accessDenied(BACKEND, key, detail, error);
  if (THROTTLED.has(code) || status === 429) return throttled(BACKEND, key, error);
  // A concurrent conditional write won the race; S3 asks the loser to retry (and then see 412).
  if (code === 'ConditionalRequestConflict') return unavailable(BACKEND, key, detail, error);
  if (UNAVAILABLE.has(code) || (status !== undefined && status >= 500)) return unavailable(BACKEND, key, detail, error);
  return unrecognizedFailure(BACKEND, key, detail, error);
}
