import { StreamedRequestBroken } from './resumable-upload.js';
import { aborted, accessDenied, alreadyExists, checksumMismatch, ColdStoreError, findNetworkErrno, invalidRange, isAbortError, notFound, throttled, unavailable, unrecognizedFailure, type ErrorContext } from '@takhin/core';

export const BACKEND = 'gcs';

/** The HTTP status behind an SDK `ApiError`, a gaxios error or our `GcsHttpError`. */
export function httpStatus(error: unknown): number | undefined {
  const e = error as { code?: unknown; status?: unknown; response?: { status?: unknown } } | null;
  for (const value of [e?.code, e?.status, e?.response?.status]) if (typeof value === 'number') return value;
  return undefined;
}

/**
 * Maps what the SDK, the HTTP layer or the server threw to the contract's codes. Every input
 * gives a `ColdStoreError`: an answer no code describes (an unexpected 400), or an error with
 * no HTTP status at all, is a non-retryable UNAVAILABLE naming it.
 */
export function toColdStoreError(error: unknown, context: ErrorContext): ColdStoreError {
  if (error instanceof ColdStoreError) return error;
  const { key, signal } = context;
  if (isAbortError(error, signal)) return aborted(BACKEND, key, signal?.reason ?? error);
  if (error instanceof StreamedRequestBroken) return streamBroken(error, context);
  const errno = findNetworkErrno(error);
  if (errno) return unavailable(BACKEND, key, `cannot reach the endpoint (${errno})`, error);
  const status = httpStatus(error);
  const message = (error as Error | null)?.message ?? String(error);
  const subject = key ?? '';
  switch (status) {
    case 404:
      return notFound(BACKEND, subject, error);
    case 412: // only ever sent as ifGenerationMatch=0, i.e. ifNoneMatch
      return alreadyExists(BACKEND, subject, error);
    case 416:
      return invalidRange(BACKEND, subject, message, error);
    case 429:
      return throttled(BACKEND, key, error);
    case 401:
    case 403:
      return accessDenied(BACKEND, key, message, error);
    case 400:
      // GCS refuses an upload whose declared crc32c/md5 differs from the bytes it received.
      if (/crc32c|md5|checksum|hash/i.test(message)) return checksumMismatch(BACKEND, subject, `the server says: ${message}`, error);
      return unrecognizedFailure(BACKEND, key, `HTTP 400: ${message}`, error);
    case 408:
    case 500:
    case 502:
    case 503:
    case 504:
      return unavailable(BACKEND, key, `HTTP ${status}: ${message}`, error);
    default:
      return unrecognizedFailure(BACKEND, key, status === undefined ? message : `HTTP ${status}: ${message}`, error);
  }
}

/**
 * A resumable session's streamed request failed: the code and retryability of what it met (a
 * reset is a retryable UNAVAILABLE: the put, sent again whole, may well succeed), and a message
 * saying how far it got and why it is not resumed (docs/ARCHITECTURE.md, "Backends").
 */
function streamBroken(error: StreamedRequestBroken, context: ErrorContext): ColdStoreError {
  const met = toColdStoreError(error.cause, context);
  if (met.code === 'ABORTED') return met;
  const cause = error.cause instanceof Error ? error.cause.message : String(error.cause);
  return new ColdStoreError(
    met.code,
    `${BACKEND}: the resumable upload${context.key ? ` of "${context.key}"` : ''} broke after ${error.streamed} bytes of its streamed request (${cause}); ` +
      'the bytes sent are no longer in memory, so the session is cancelled, not resumed, and the put fails whole',
    { backend: BACKEND, key: context.key, cause: error, retryable: met.retryable },
  );
}
