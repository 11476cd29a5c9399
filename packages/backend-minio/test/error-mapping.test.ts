import { afterEach, describe, expect, it } from 'vitest';
import { RetryingColdStore } from '@takhin/core';
import { MinioColdStore } from '@takhin/backend-minio';
import { expectCode, s3ErrorAnswer, startStubHttpServer, type StubHttpServer } from '@takhin/testkit';
import { minioConfig } from './minio-server.js';

// Statuses MinIO will not produce on demand, from a loopback server speaking S3's XML errors:
// the real minio client parses them, the store maps them.
describe('minio: server errors map to contract codes', () => {
  let stub: StubHttpServer;
  afterEach(() => stub?.close());

  const storeOn = (url: string) => new MinioColdStore(minioConfig({ prefix: 'stub', endpoint: url }));

  it.each([
    [503, 'SlowDown', 'THROTTLED', true],
    // The minio client drops a 5xx body's code; a 503 is read as S3 defines it: slow down.
    [503, 'ServiceUnavailable', 'THROTTLED', true],
    [500, 'InternalError', 'UNAVAILABLE', true],
    [502, 'BadGateway', 'UNAVAILABLE', true],
    [429, 'TooManyRequests', 'THROTTLED', true],
    [403, 'AccessDenied', 'ACCESS_DENIED', false],
    [404, 'NoSuchKey', 'NOT_FOUND', false],
    [416, 'InvalidRange', 'INVALID_RANGE', false],
  ] as const)('HTTP %i %s is %s (retryable: %s)', async (status, code, expected, retryable) => {
    stub = await startStubHttpServer(() => s3ErrorAnswer(status, code));
    const store = storeOn(stub.url);
    const error = await expectCode(store.get('segments/orders-0/00000000000000000000.log'), expected);
    expect(error.retryable).toBe(retryable);
    expect(error.backend).toBe('minio');
    await store.close();
  });

  it('the client never retries by itself; the shared retry layer does', async () => {
    stub = await startStubHttpServer(() => s3ErrorAnswer(503, 'SlowDown'));
    const store = storeOn(stub.url);
    await expectCode(store.get('k'), 'THROTTLED');
    const afterOne = stub.requests.length;
    await expectCode(new RetryingColdStore(store, { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 }).get('k'), 'THROTTLED');
    expect(stub.requests.length).toBe(afterOne * 4);
    await store.close();
  });
});
