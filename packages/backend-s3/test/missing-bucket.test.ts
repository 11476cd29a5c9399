import { afterAll, describe, expect, it } from 'vitest';
import { S3ColdStore } from '@takhin/backend-s3';
import { expectCode } from '@takhin/testkit';
import { minioS3Config } from './minio-s3.js';

describe('s3: a bucket that does not exist', () => {
  const bucket = `takhin-missing-${process.pid}`;
  const store = new S3ColdStore(minioS3Config({ bucket, prefix: 'x' }));
  afterAll(() => store.close());

  it('fails every operation with an error naming the bucket', async () => {
    const attempts = [
      () => store.put('k', Buffer.from('x')),
      () => store.put('big', Buffer.alloc(store.partSize + 1)),
      () => store.get('k'),
      // A HEAD 404 cannot tell a missing bucket from a missing key; the store asks.
      () => store.head('k'),
      () => store.delete(['k', 'l']),
      () => store.list('')[Symbol.asyncIterator]().next(),
    ];
    for (const attempt of attempts) {
      const error = await expectCode(attempt(), 'NOT_FOUND');
      expect(error.message).toContain(`bucket "${bucket}" does not exist`);
    }
  });
});
