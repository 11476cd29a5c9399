import type { S3Failure } from '@takhin/core';

export const BACKEND = 's3';

/** What the AWS SDK threw, as an S3 failure: the XML code as `Code` or `name`, the status in `$metadata`. */
export function readS3Failure(error: unknown): S3Failure {
  const sdk = error as { name?: string; Code?: string; message?: string; $metadata?: { httpStatusCode?: number } } | null;
  const code = sdk?.Code ?? (sdk?.name === 'Error' || sdk?.name === 'UnknownError' ? undefined : sdk?.name);
  return { code, status: sdk?.$metadata?.httpStatusCode, message: sdk?.message };
}
