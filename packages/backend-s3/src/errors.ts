import { s3ColdStoreError, type ColdStoreError, type ErrorContext } from '@takhin/core';

export const BACKEND = 's3';

/**
 * Reads what the AWS SDK threw as an S3 failure (the XML code as `Code` or `name`, the status
 * in `$metadata`) for core's S3 error table, which maps it.
 */
export function toColdStoreError(error: unknown, bucket: string, context: ErrorContext): ColdStoreError {
  const sdk = error as { name?: string; Code?: string; message?: string; $metadata?: { httpStatusCode?: number } } | null;
  const code = sdk?.Code ?? (sdk?.name === 'Error' || sdk?.name === 'UnknownError' ? undefined : sdk?.name);
  return s3ColdStoreError({ code, status: sdk?.$metadata?.httpStatusCode, message: sdk?.message }, { backend: BACKEND, bucket, key: context.key }, error);
}
