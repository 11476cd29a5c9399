import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AzureColdStore, provider } from '@takhin/backend-azure';
import { ConfigError, type ColdStore } from '@takhin/core';
import { closedPort, collect, expectCode, patternedBytes, expectResetMidGetIsUnavailable, startStubHttpServer, TcpProxy, type StubHttpServer } from '@takhin/testkit';
import { azurite, testConfig } from './azure-subject.js';

/** One call of each kind, started only when the case awaits it. */
const everyOperation = (store: ColdStore) => [
  () => store.put('k', Buffer.from('x')),
  () => store.put('k', patternedBytes(3 * 1024 * 1024)), // staged blocks
  () => store.get('k'),
  () => store.head('k'),
  () => store.delete('k'),
  () => store.delete(['k', 'l']), // a blob batch
  () => collect(store.list('')),
];

describe('azure: failures are mapped to contract codes', () => {
  it('a wrong account key is ACCESS_DENIED for every operation', async () => {
    const { accountUrl, accountName } = azurite();
    const wrongKey = Buffer.alloc(64, 7).toString('base64');
    const store = provider.create(testConfig('errors', { connectionString: undefined, accountUrl, accountName, accountKey: wrongKey }));
    for (const attempt of everyOperation(store)) {
      const error = await expectCode(attempt(), 'ACCESS_DENIED');
      expect(error.retryable).toBe(false);
    }
    await store.close();
  });

  it('a missing container is NOT_FOUND naming the container, for every operation', async () => {
    const store = provider.create(testConfig('errors', { container: 'takhin-no-such-container' }));
    for (const attempt of everyOperation(store)) {
      const error = await expectCode(attempt(), 'NOT_FOUND');
      expect(error.message).toContain('container "takhin-no-such-container" does not exist');
    }
    await store.close();
  });

  it('a dead server is UNAVAILABLE and retryable for every operation', async () => {
    const { accountUrl, accountName, accountKey } = azurite();
    const dead = accountUrl.replace(/:\d+\//, `:${await closedPort()}/`);
    const store = provider.create(testConfig('errors', { connectionString: undefined, accountUrl: dead, accountName, accountKey }));
    for (const attempt of everyOperation(store)) {
      expect((await expectCode(attempt(), 'UNAVAILABLE')).retryable).toBe(true);
    }
    await store.close();
  });
});

// Azurite never throttles or fails on demand, so a loopback server answers every request the
// way Azure does (XML error body and x-ms-error-code); the real SDK parses it, the store maps it.
describe.each([
  [503, 'ServerBusy', 'THROTTLED', true],
  [500, 'InternalError', 'UNAVAILABLE', true],
  [503, 'ServiceUnavailable', 'UNAVAILABLE', true],
  [403, 'AuthorizationFailure', 'ACCESS_DENIED', false],
  // An answer no contract code describes is still a ColdStoreError, never the SDK's own.
  [400, 'InvalidHeaderValue', 'UNAVAILABLE', false],
] as const)('azure: HTTP %i %s', (status, errorCode, code, retryable) => {
  let stub: StubHttpServer;
  let store: ColdStore;
  beforeAll(async () => {
    stub = await startStubHttpServer(() => ({
      status,
      headers: { 'content-type': 'application/xml', 'x-ms-error-code': errorCode },
      body: `<?xml version="1.0" encoding="utf-8"?><Error><Code>${errorCode}</Code><Message>stub says ${errorCode}</Message></Error>`,
    }));
    const { accountName, accountKey } = azurite();
    // One attempt: this reads the mapping itself; the case below counts the retries.
    store = provider.create(testConfig('stub', { connectionString: undefined, accountUrl: `${stub.url}/${accountName}`, accountName, accountKey }), {
      retry: { maxAttempts: 1 },
    });
  });
  afterAll(async () => {
    await store.close();
    await stub.close();
  });

  it(`is ${code} (retryable: ${retryable}) for every operation`, async () => {
    for (const attempt of everyOperation(store)) {
      expect((await expectCode(attempt(), code)).retryable).toBe(retryable);
    }
  });

  it("the SDK sends each request once; the store's retry layer retries retryable codes only", async () => {
    const before = stub.requests.length;
    await expectCode(store.get('k'), code);
    expect(stub.requests.length - before).toBe(1);
    const { accountName, accountKey } = azurite();
    const retrying = provider.create(testConfig('stub', { connectionString: undefined, accountUrl: `${stub.url}/${accountName}`, accountName, accountKey }), {
      retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 },
    });
    await expectCode(retrying.get('k'), code);
    expect(stub.requests.length - before).toBe(retryable ? 4 : 2);
    await retrying.close();
  });
});

describe('azure: configuration', () => {
  it('names the offending key', () => {
    const { accountUrl, accountName, accountKey, connectionString } = azurite();
    expect(() => provider.parseConfig({ accountUrl })).toThrow(/storage\.tiered\.azure\.container/);
    expect(() => provider.parseConfig({ container: 'c' })).toThrow(/storage\.tiered\.azure\.accountUrl.*connectionString/);
    expect(() => provider.parseConfig({ container: 'c', connectionString, accountKey })).toThrow(/storage\.tiered\.azure\.accountKey/);
    expect(() => provider.parseConfig({ container: 'c', accountUrl, accountKey })).toThrow(/storage\.tiered\.azure\.accountName/);
    expect(() => provider.parseConfig({ container: 'c', accountUrl, accountName, accountKey, concurrency: 0 })).toThrow(/storage\.tiered\.azure\.concurrency/);
    expect(() => provider.parseConfig({ container: 'c', accountUrl: 'nope', accountName })).toThrow(/storage\.tiered\.azure\.accountUrl/);
    expect(() => provider.parseConfig({ container: 'c', accountUrl: 'localhost://10000/acct', accountName })).toThrow(/storage\.tiered\.azure\.accountUrl/);
  });

  it('refuses an account key that is not base64, naming the key and never quoting it', () => {
    const { accountUrl, accountName } = azurite();
    const mistyped = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=!';
    for (const [raw, path] of [
      [{ container: 'c', accountUrl, accountName, accountKey: mistyped }, 'storage.tiered.azure.accountKey'],
      [{ container: 'c', connectionString: `DefaultEndpointsProtocol=https;AccountName=a;AccountKey=${mistyped}` }, 'storage.tiered.azure.connectionString'],
    ] as const) {
      let caught: unknown;
      try {
        provider.parseConfig(raw);
      } catch (error) {
        caught = error;
      }
      expect(caught, path).toBeInstanceOf(ConfigError);
      expect((caught as ConfigError).path).toBe(path);
      expect((caught as ConfigError).message).toContain('base64');
      expect((caught as ConfigError).message).not.toContain(mistyped);
    }
  });

  it('refuses a connection string it cannot use, naming the key, before any store is built', () => {
    for (const connectionString of ['garbage', 'AccountName=a;AccountKey=k', 'BlobEndpoint=localhost://10000/a;AccountName=a;AccountKey=a2V5']) {
      let caught: unknown;
      try {
        provider.create(provider.parseConfig({ container: 'c', connectionString }));
      } catch (error) {
        caught = error;
      }
      expect(caught, connectionString).toBeInstanceOf(ConfigError);
      expect((caught as ConfigError).path).toBe('storage.tiered.azure.connectionString');
    }
  });
});

describe('azure: a connection reset in the middle of a get', () => {
  it('reaches the reader as UNAVAILABLE, retryable, never a raw socket error', async () => {
    const { accountUrl, accountName, accountKey } = azurite();
    const server = new URL(accountUrl);
    const proxy = new TcpProxy(Number(server.port));
    await proxy.open();
    const direct = provider.create(testConfig('reset-get'));
    const viaProxy = provider.create(
      testConfig('reset-get', { connectionString: undefined, accountUrl: `${proxy.endpoint}${server.pathname}`, accountName, accountKey }),
    );
    await (direct as AzureColdStore).driver.container.createIfNotExists();
    try {
      await expectResetMidGetIsUnavailable(direct, viaProxy, proxy);
    } finally {
      await Promise.all([direct.close(), viaProxy.close(), proxy.cut()]);
    }
  });
});
