import { afterEach, describe, expect, it } from 'vitest';
import { RetryingColdStore } from '@takhin/core';
import { S3ColdStore } from '@takhin/backend-s3';
import { expectCode, s3ErrorAnswer, startStubHttpServer, type StubHttpServer } from '@takhin/testkit';
import { minioS3Config } from './minio-s3.js';

// Statuses MinIO will not produce on demand, from a loopback server speaking S3's XML
// errors: the real SDK parses them, the store maps them.
describe('s3: server errors map to contract codes', () => {
  let stub: StubHttpServer;
  afterEach(() => stub?.close());

  const storeOn = (url: string) => new S3ColdStore(minioS3Config({ prefix: 'stub', endpoint: url }));

  it.each([
    [503, 'SlowDown', 'THROTTLED', true],
    [429, 'TooManyRequests', 'THROTTLED', true],
    [503, 'ServiceUnavailable', 'UNAVAILABLE', true],
    [500, 'InternalError', 'UNAVAILABLE', true],
    [403, 'AccessDenied', 'ACCESS_DENIED', false],
    [403, 'InvalidAccessKeyId', 'ACCESS_DENIED', false],
    [404, 'NoSuchKey', 'NOT_FOUND', false],
    [412, 'PreconditionFailed', 'ALREADY_EXISTS', false],
    [416, 'InvalidRange', 'INVALID_RANGE', false],
  ] as const)('HTTP %i %s is %s (retryable: %s)', async (status, code, expected, retryable) => {
    stub = await startStubHttpServer(() => s3ErrorAnswer(status, code));
    const store = storeOn(stub.url);
    const error = await expectCode(store.get('segments/orders-0/00000000000000000000.log'), expected);
    expect(error.retryable).toBe(retryable);
    expect(error.backend).toBe('s3');
    expect(error.cause).toBeDefined();
    await store.close();
  });

  it('a missing bucket is named in the error', async () => {
    stub = await startStubHttpServer(() => s3ErrorAnswer(404, 'NoSuchBucket', 'The specified bucket does not exist'));
    const store = storeOn(stub.url);
    const error = await expectCode(store.put('k', Buffer.from('x')), 'NOT_FOUND');
    expect(error.message).toContain('bucket "takhin-s3-tests" does not exist');
    await store.close();
  });

  it('the SDK never retries by itself; the shared retry layer does, for retryable codes only', async () => {
    stub = await startStubHttpServer(() => s3ErrorAnswer(503, 'SlowDown'));
    const store = storeOn(stub.url);
    await expectCode(store.get('k'), 'THROTTLED');
    expect(stub.requests).toHaveLength(1);

    const retrying = new RetryingColdStore(store, { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 });
    await expectCode(retrying.get('k'), 'THROTTLED');
    expect(stub.requests).toHaveLength(4);

    await stub.close();
    stub = await startStubHttpServer(() => s3ErrorAnswer(403, 'AccessDenied'));
    const denied = new RetryingColdStore(storeOn(stub.url), { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 });
    await expectCode(denied.get('k'), 'ACCESS_DENIED');
    expect(stub.requests).toHaveLength(1);
    await store.close();
    await denied.close();
  });
});
