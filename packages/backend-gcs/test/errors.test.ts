import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GcsColdStore, provider } from '@takhin/backend-gcs';
import type { ColdStore } from '@takhin/core';
import { closedPort, collect, expectCode, patternedBytes, expectResetMidGetIsUnavailable, startStubHttpServer, TcpProxy, type StubHttpServer } from '@takhin/testkit';
import { ensureBucket, gcsServer, testConfig } from './gcs-subject.js';

/** One call of each kind, started only when the case awaits it. */
const everyOperation = (store: ColdStore) => [
  () => store.put('k', Buffer.from('x')),
  () => store.put('k', patternedBytes(2 * 1024 * 1024)), // resumable
  () => store.get('k'),
  () => store.head('k'),
  () => store.delete('k'),
  () => collect(store.list('')),
];

describe('gcs: failures are mapped to contract codes', () => {
  it('a missing bucket is NOT_FOUND naming the bucket, for every operation', async () => {
    const store = provider.create(testConfig('errors', { bucket: 'takhin-no-such-bucket' }));
    for (const attempt of everyOperation(store)) {
      const error = await expectCode(attempt(), 'NOT_FOUND');
      expect(error.message).toContain('bucket "takhin-no-such-bucket" does not exist');
    }
    await store.close();
  });

  it('a dead server is UNAVAILABLE and retryable for every operation', async () => {
    const store = provider.create(testConfig('errors', { endpoint: `http://127.0.0.1:${await closedPort()}` }));
    for (const attempt of everyOperation(store)) {
      expect((await expectCode(attempt(), 'UNAVAILABLE')).retryable).toBe(true);
    }
    await store.close();
  });

  // fake-gcs-server checks no credentials, so refused credentials and throttling come from a
  // stub answering every request with the status a real GCS would send.
  describe.each([
    [401, 'ACCESS_DENIED'],
    [403, 'ACCESS_DENIED'],
    [429, 'THROTTLED'],
    [503, 'UNAVAILABLE'],
    // An answer no contract code describes is still a ColdStoreError, never the SDK's own.
    [400, 'UNAVAILABLE'],
  ] as const)('HTTP %i', (status, code) => {
    let stub: StubHttpServer;
    let store: GcsColdStore;
    beforeAll(async () => {
      stub = await startStubHttpServer(() => ({
        status,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ error: { code: status, message: `stub says ${status}` } }),
      }));
      store = provider.create(testConfig('errors', { endpoint: stub.url })) as GcsColdStore;
    });
    afterAll(async () => {
      await store.close();
      await stub.close();
    });
    it(`is ${code} for put (simple and resumable), get, head, delete and list`, async () => {
      for (const attempt of everyOperation(store)) {
        await expectCode(attempt(), code);
      }
    });
  });
});

describe('gcs: configuration', () => {
  it('names the offending key', () => {
    const base = { bucket: 'b', ...gcsServer() };
    expect(() => provider.parseConfig({ ...base, bucket: undefined })).toThrow(/storage\.tiered\.gcs\.bucket/);
    expect(() => provider.parseConfig({ ...base, chunkSizeMb: 0.3 })).toThrow(/storage\.tiered\.gcs\.chunkSizeMb.*256 KiB/);
    // Retired: bodies shorter than one chunk go simple, the rest resumable.
    expect(() => provider.parseConfig({ ...base, resumableThresholdMb: 8 })).toThrow(/storage\.tiered\.gcs\.resumableThresholdMb.*unknown key/);
    expect(() => provider.parseConfig({ ...base, endpoint: 'not a url' })).toThrow(/storage\.tiered\.gcs\.endpoint/);
    // Parseable as URLs, but no server answers them: a scheme that is not http(s), or none.
    expect(() => provider.parseConfig({ ...base, endpoint: 'localhost://39000' })).toThrow(/storage\.tiered\.gcs\.endpoint.*http/);
    expect(() => provider.parseConfig({ ...base, endpoint: '127.0.0.1:4443' })).toThrow(/storage\.tiered\.gcs\.endpoint.*http/);
    expect(() => provider.parseConfig({ ...base, prefix: 'a/../b' })).toThrow(/storage\.tiered\.gcs\.prefix/);
    expect(() => provider.parseConfig({ ...base, buckt: 'x' })).toThrow(/did you mean "bucket"/);
  });
});

describe('gcs: a connection reset in the middle of a get', () => {
  it('reaches the reader as UNAVAILABLE, retryable, never a raw socket error', async () => {
    const server = new URL(gcsServer().endpoint);
    const proxy = new TcpProxy(Number(server.port));
    await proxy.open();
    const direct = provider.create(testConfig('reset-get'));
    const viaProxy = provider.create(testConfig('reset-get', { endpoint: proxy.endpoint }));
    await ensureBucket(direct as GcsColdStore);
    try {
      await expectResetMidGetIsUnavailable(direct, viaProxy, proxy);
    } finally {
      await Promise.all([direct.close(), viaProxy.close(), proxy.cut()]);
    }
  });
});
