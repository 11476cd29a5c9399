import { afterAll, describe, expect, it } from 'vitest';
import { S3ColdStore } from '@takhin/backend-s3';
import { expectCode } from '@takhin/testkit';
import { minioS3Config } from './minio-s3.js';

describe('s3: wrong credentials', () => {
  const store = new S3ColdStore(minioS3Config({ prefix: 'wrong-credentials', secretAccessKey: 'not-the-secret' }));
  afterAll(() => store.close());

  it('is ACCESS_DENIED for every operation, and not retryable', async () => {
    const error = await expectCode(store.put('a/key', Buffer.from('x')), 'ACCESS_DENIED');
    expect(error.retryable).toBe(false);
    await expectCode(store.get('a/key'), 'ACCESS_DENIED');
    await expectCode(store.head('a/key'), 'ACCESS_DENIED');
    await expectCode(store.delete(['a/key', 'b/key']), 'ACCESS_DENIED');
    await expectCode(store.list('a/')[Symbol.asyncIterator]().next(), 'ACCESS_DENIED');
  });
});
