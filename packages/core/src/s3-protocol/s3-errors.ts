import { ColdStoreError } from '../errors/cold-store-error.js';
import {
  aborted,
  accessDenied,
  alreadyExists,
  checksumMismatch,
  containerMissing,
  invalidKey,
  invalidRange,
  notFound,
  throttled,
  unavailable,
  unrecognizedFailure,
} from '../errors/factories.js';
import { findNetworkErrno, isAbortError } from '../errors/signals.js';

// The S3 protocol's error vocabulary, once for every client of it (the AWS SDK, the minio
// client): each driver reads its client's error into an `S3Failure` and this table decides.

/** An S3 error as any client reports it: the XML body's code, the HTTP status, the message. */
export interface S3Failure {
  /** `NoSuchKey`, `SlowDown`, …; `undefined` when the client kept only the status. */
  code?: string | undefined;
  status?: number | undefined;
  message?: string | undefined;
}

export interface S3ErrorContext {
  backend: string;
  bucket: string;
  key?: string | undefined;
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
const THROTTLED = new Set(['SlowDown', 'SlowDownRead', 'SlowDownWrite', 'Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequests']);
const UNAVAILABLE = new Set([
  'ServiceUnavailable',
  'InternalError',
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'TimeoutError',
  'XMinioServerNotInitialized',
  'XMinioStorageFull',
  // A concurrent conditional write won the race; S3 asks the loser to retry (and then see 412).
  'ConditionalRequestConflict',
]);
const CHECKSUM = new Set(['BadDigest', 'InvalidDigest', 'XAmzContentChecksumMismatch', 'XAmzContentSHA256Mismatch', 'InvalidChecksum']);
const INVALID_KEY = new Set(['KeyTooLongError', 'XMinioInvalidObjectName', 'InvalidObjectName']);

/**
 * Maps an S3 failure (or a network error under the client) to the contract's error, keeping
 * the original as `cause`. A code no row describes is a non-retryable UNAVAILABLE naming it.
 */
export function s3ColdStoreError(failure: S3Failure, context: S3ErrorContext, cause: unknown): ColdStoreError {
  const { backend, bucket, key } = context;
  if (isAbortError(cause)) return aborted(backend, key, cause);
  const errno = findNetworkErrno(cause);
  if (errno) return unavailable(backend, key, `cannot reach the endpoint (${errno})`, cause);
  const { code, status } = failure;
  const detail = `${code ?? 'HTTP error'}${status ? ` (HTTP ${status})` : ''}: ${failure.message ?? ''}`;
  const subject = key ?? '';
  if (code === 'NoSuchBucket') return containerMissing(backend, 'bucket', bucket, key, cause);
  if (code === 'NoSuchKey' || code === 'NotFound' || code === 'NoSuchUpload' || status === 404) return notFound(backend, subject, cause);
  if (code === 'PreconditionFailed' || status === 412) return alreadyExists(backend, subject, cause);
  if (code === 'InvalidRange' || status === 416) return invalidRange(backend, subject, detail, cause);
  if (code !== undefined && INVALID_KEY.has(code)) return invalidKey(backend, key, `the server refused the name (${detail})`);
  if (code !== undefined && CHECKSUM.has(code)) return checksumMismatch(backend, subject, `the server rejected the bytes' checksum (${detail})`, cause);
  if ((code !== undefined && ACCESS_DENIED.has(code)) || status === 401 || status === 403) return accessDenied(backend, key, detail, cause);
  // A 503 without a code (a client that dropped the body) reads as S3 defines it: slow down.
  if ((code !== undefined && THROTTLED.has(code)) || status === 429 || (code === undefined && status === 503)) return throttled(backend, key, cause);
  if (code === 'InvalidStorageClass') {
    return unrecognizedFailure(backend, key, `the server does not offer the configured storage class; choose another storageClass, or set it up on the server (${detail})`, cause);
  }
  if ((code !== undefined && UNAVAILABLE.has(code)) || (status !== undefined && status >= 500 && status !== 501)) return unavailable(backend, key, detail, cause);
  return unrecognizedFailure(backend, key, detail, cause);
}
