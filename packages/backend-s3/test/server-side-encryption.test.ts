import { afterAll, describe, expect, it } from 'vitest';
import { S3ColdStore } from '@takhin/backend-s3';
import { patternedStream, requireServiceEnv } from '@takhin/testkit';
import { ensureBucket, minioS3Config, rawClient } from './minio-s3.js';

describe('s3: server-side encryption', () => {
  const { TAKHIN_MINIO_KMS_KEY_ID: kmsKeyId } = requireServiceEnv('minio', ['TAKHIN_MINIO_KMS_KEY_ID']);
  const stores: S3ColdStore[] = [];
  afterAll(async () => {
    for (const store of stores) {
      await store.delete(['single', 'multipart']);
      await store.close();
    }
  });

  for (const sse of [{ sse: 'AES256' }, { sse: 'aws:kms', kmsKeyId }]) {
    it(`${sse.sse} is asked for on single and multipart puts and visible in head`, async () => {
      const config = minioS3Config({ prefix: `sse-${sse.sse.replace(':', '-')}-${process.pid}`, ...sse });
      const client = rawClient(config);
      await ensureBucket(client, config.bucket);
      client.destroy();
      const store = new S3ColdStore(config);
      stores.push(store);
      await store.put('single', Buffer.from('secret'));
      const size = store.partSize + 10;
      await store.put('multipart', patternedStream(size, 3), { size });
      for (const key of ['single', 'multipart']) {
        expect((await store.head(key))?.serverSideEncryption, key).toBe(sse.sse);
      }
    });
  }
});
