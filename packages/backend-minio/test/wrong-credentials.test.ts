import { afterAll, describe, expect, it } from 'vitest';
import { MinioColdStore } from '@takhin/backend-minio';
import { expectCode } from '@takhin/testkit';
import { minioConfig } from './minio-server.js';

describe('minio: wrong credentials', () => {
  const store = new MinioColdStore(minioConfig({ prefix: 'wrong-credentials', secretKey: 'not-the-secret' }));
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
