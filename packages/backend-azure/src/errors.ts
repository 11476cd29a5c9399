import { aborted, accessDenied, alreadyExists, checksumMismatch, ColdStoreError, containerMissing, findNetworkErrno, invalidRange, isAbortError, notFound, throttled, unavailable, unrecognizedFailure, type ErrorContext } from '@takhin/core';

export const BACKEND = 'azure';

/** Azure's error code (`BlobNotFound`, …); HEAD responses carry it only in `x-ms-error-code`. */
export function azureErrorCode(error: unknown): string | undefined {
  const e = error as { code?: unknown; details?: { errorCode?: unknown } } | null;
  const code = e?.details?.errorCode ?? e?.code;
  return typeof code === 'string' ? code : undefined;
}

const CHECKSUM_CODES = new Set(['Md5Mismatch', 'Crc64Mismatch', 'InvalidMd5']);

/**
 * Maps what the SDK or the network threw to the contract's codes. Every input gives a
 * `ColdStoreError`: an answer no code describes, or an error with no HTTP status at all, is a
 * non-retryable UNAVAILABLE naming it.
 */
export function toColdStoreError(error: unknown, container: string, context: ErrorContext): ColdStoreError {
  if (error instanceof ColdStoreError) return error;
  const { key, signal } = context;
  if (isAbortError(error, signal)) return aborted(BACKEND, key, signal?.reason ?? error);
  const errno = findNetworkErrno(error);
  if (errno) return unavailable(BACKEND, key, `cannot reach the endpoint (${errno})`, error);
  const code = azureErrorCode(error);
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  const message = (error as Error | null)?.message?.split('\n')[0] ?? String(error);
  const subject = key ?? '';
  if (code === 'ContainerNotFound') return containerMissing(BACKEND, 'container', container, key, error);
  if (code !== undefined && CHECKSUM_CODES.has(code)) return checksumMismatch(BACKEND, subject, `the server says ${code}: ${message}`, error);
  // A caller's conditions are only ever If-None-Match: *, i.e. ifNoneMatch (the clean-up's
  // If-Unmodified-Since is answered in the driver's abortMultipart).
  if (code === 'BlobAlreadyExists' || code === 'ConditionNotMet' || status === 412) return alreadyExists(BACKEND, subject, error);
  if (code === 'ServerBusy' || status === 429) return throttled(BACKEND, key, error);
  // Azure keeps one set of uncommitted blocks per blob, and every commit discards the blocks it
  // does not name: another write committing the same blob meanwhile took this write's blocks.
  if (code === 'InvalidBlockList') {
    return unrecognizedFailure(BACKEND, key, `HTTP 400 InvalidBlockList: this write's staged blocks were discarded, most likely by another write to the same blob that committed meanwhile (Azure keeps one set of uncommitted blocks per blob); the blob holds that write's bytes`, error);
  }
  switch (status) {
    case 404:
      return notFound(BACKEND, subject, error);
    case 416:
      return invalidRange(BACKEND, subject, message, error);
    case 401:
    case 403:
      return accessDenied(BACKEND, key, code ?? message, error);
    case 408:
    case 500:
    case 502:
    case 503:
    case 504:
      return unavailable(BACKEND, key, `HTTP ${status} ${code ?? ''}`.trim(), error);
    default:
      return unrecognizedFailure(BACKEND, key, `${typeof status === 'number' ? `HTTP ${status} ` : ''}${code ?? ''}: ${message}`, error);
  }
}
