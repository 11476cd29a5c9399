import type { S3Failure } from '@takhin/core';

export const BACKEND = 'minio';

/**
 * What the minio client threw, as an S3 failure. With its retries off, the client reports a
 * 5xx or 429 only as "Retryable HTTP status: 503", without the body's code: the status is all
 * there is to map.
 */
export function readMinioFailure(error: unknown): S3Failure {
  const failure = error as { code?: unknown; message?: string } | null;
  const status = /Retryable HTTP status: (\d+)/.exec(failure?.message ?? '')?.[1];
  return { code: typeof failure?.code === 'string' ? failure.code : undefined, status: status === undefined ? undefined : Number(status), message: failure?.message };
}
