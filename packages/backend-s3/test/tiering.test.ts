import { provider } from '@takhin/backend-s3';
import { describeTieringIntegration, sharedMinioSettings } from '@takhin/testkit';
import { s3Family } from './minio-s3.js';

// Archive, restore and evict through the same wiring a user has, on the shared MinIO.
describeTieringIntegration('s3', {
  providers: [provider],
  async section(prefix) {
    const settings = sharedMinioSettings('s3', { prefix });
    const inspector = s3Family.inspect(settings);
    await inspector.createBucket(settings.bucket);
    inspector.close?.();
    return { backend: 's3', s3: s3Family.config(settings) };
  },
});
