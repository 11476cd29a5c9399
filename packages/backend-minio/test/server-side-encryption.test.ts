import { afterAll, describe, expect, it } from 'vitest';
import { MinioColdStore } from '@takhin/backend-minio';
import { patternedStream, requireServiceEnv } from '@takhin/testkit';
import { ensureBucket, minioConfig, rawClient } from './minio-server.js';

describe('minio: server-side encryption', () => {
  const { TAKHIN_MINIO_KMS_KEY_ID: kmsKeyId } = requireServiceEnv('minio', ['TAKHIN_MINIO_KMS_KEY_ID']);
  const stores: MinioColdStore[] = [];
  afterAll(async () => {
    for (const store of stores) {
      await store.delete(['single', 'multipart']);
      await store.close();
    }
  });

  for (const sse of [{ sse: 'AES256' }, { sse: 'aws:kms', kmsKeyId }]) {
    it(`${sse.sse} is asked for on single and multipart puts and visible in head`, async () => {
      const config = minioConfig({ prefix: `sse-${sse.sse.replace(':', '-')}-${process.pid}`, ...sse });
      const client = rawClient(config);
      await ensureBucket(client, config.bucket);
      const store = new MinioColdStore(config);
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
