import { requireServiceEnv } from '../services/service-env.js';
import type { S3FamilyBackend, S3FamilySettings } from './s3-family-backend.js';

/**
 * Settings for a store on the shared MinIO from `scripts/services` (a missing server fails,
 * never skips), in a bucket of the backend's own. S3's smallest part and a queue of 4, so part
 * boundaries and the memory bound mean something.
 */
export function sharedMinioSettings(name: string, overrides: Partial<S3FamilySettings> = {}): S3FamilySettings {
  const env = requireServiceEnv('minio', ['TAKHIN_MINIO_ENDPOINT', 'TAKHIN_MINIO_ACCESS_KEY', 'TAKHIN_MINIO_SECRET_KEY', 'TAKHIN_MINIO_REGION']);
  return {
    endpoint: env.TAKHIN_MINIO_ENDPOINT,
    accessKey: env.TAKHIN_MINIO_ACCESS_KEY,
    secretKey: env.TAKHIN_MINIO_SECRET_KEY,
    region: env.TAKHIN_MINIO_REGION,
    bucket: `takhin-${name}-tests`,
    prefix: '',
    partSizeMb: 5,
    queueSize: 4,
    ...overrides,
  };
}

/** Creates the settings' bucket through the backend's own raw client. */
export async function createBucket(backend: S3FamilyBackend<unknown>, settings: S3FamilySettings): Promise<void> {
  const inspector = backend.inspect(settings);
  try {
    await inspector.createBucket(settings.bucket);
  } finally {
    inspector.close?.();
  }
}
