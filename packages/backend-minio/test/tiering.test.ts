import { provider } from '@takhin/backend-minio';
import { describeTieringIntegration, sharedMinioSettings } from '@takhin/testkit';
import { minioFamily } from './minio-server.js';

// Archive, restore and evict through the same wiring a user has, on the shared MinIO.
describeTieringIntegration('minio', {
  providers: [provider],
  async section(prefix) {
    const settings = sharedMinioSettings('minio', { prefix });
    const inspector = minioFamily.inspect(settings);
    await inspector.createBucket(settings.bucket);
    inspector.close?.();
    return { backend: 'minio', minio: minioFamily.config(settings) };
  },
});
