import { s3ColdStoreError, type ColdStoreError, type ErrorContext } from '@takhin/core';

export const BACKEND = 'minio';

/**
 * Reads what the minio client threw as an S3 failure for core's S3 error table. With its
 * retries off, the client reports a 5xx or 429 only as "Retryable HTTP status: 503", without
 * the body's code: the status is all there is to map.
 */
export function toColdStoreError(error: unknown, bucket: string, context: ErrorContext): ColdStoreError {
  const failure = error as { code?: unknown; message?: string } | null;
  const status = /Retryable HTTP status: (\d+)/.exec(failure?.message ?? '')?.[1];
  const code = typeof failure?.code === 'string' ? failure.code : undefined;
  return s3ColdStoreError({ code, status: status === undefined ? undefined : Number(status), message: failure?.message }, { backend: BACKEND, bucket, key: context.key }, error);
}
