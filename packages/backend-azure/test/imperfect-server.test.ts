import { createServer, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { BlobClient } from '@azure/storage-blob';
import { describe, expect, it, vi } from 'vitest';
import { AzureColdStore, AzureDriver, provider } from '@takhin/backend-azure';
import { DriverColdStore } from '@takhin/core';
import { expectCode, expectConcurrentPutsSurviveResets, expectEveryOperationGivesUp, patternedBytes, readAll, RESET_EVERY_THIRD_OF_32, startAlteringProxy, startSilentServer, TcpProxy } from '@takhin/testkit';
import { azurite, testConfig } from './azure-subject.js';

// Azure's requests are signed (Shared Key covers the headers a proxy would drop), so here a
// proxy can only answer requests itself: a server that refuses Blob Batch, and resets.
describe('azure: imperfect Azure-compatible servers', () => {
  it('a rejected Blob Batch falls back to single deletes, and the store remembers it', async () => {
    const { accountUrl, accountName, accountKey } = azurite();
    const upstream = new URL(accountUrl);
    const proxy = await startAlteringProxy(upstream.origin, {
      request: (r) => (r.path.includes('comp=batch') ? { status: 400, headers: { 'x-ms-error-code': 'UnsupportedQueryParameter' }, body: '' } : undefined),
    });
    const store = provider.create(testConfig('batch-refused', { connectionString: undefined, accountUrl: `${proxy.url}${upstream.pathname}`, accountName, accountKey })) as AzureColdStore;
    try {
      await store.driver.container.createIfNotExists();
      const keys = ['a', 'b', 'c', 'd', 'e'];
      for (const key of keys) await store.put(key, Buffer.from(key));
      await store.delete(keys.slice(0, 3));
      for (const key of keys.slice(0, 3)) expect(await store.head(key)).toBeNull();
      const batches = () => proxy.requests.filter((r) => r.path.includes('comp=batch')).length;
      expect(batches()).toBe(1);
      expect(store.capabilities.maxDeleteBatch).toBe(1);
      await store.delete(keys.slice(3));
      expect(await store.head('e')).toBeNull();
      expect(batches(), 'no second batch request').toBe(1);
    } finally {
      await store.close();
      await proxy.close();
    }
  });

  it('Azurite honours If-None-Match, and the store trusts it after its probe', async () => {
    const store = provider.create(testConfig('conditional'));
    await store.put('kept', Buffer.from('original'));
    await expectCode(store.put('kept', Buffer.from('intruder'), { ifNoneMatch: true }), 'ALREADY_EXISTS');
    expect(store.capabilities.conditionalWrites).toBe('server');
    expect((await readAll(await store.get('kept'))).toString()).toBe('original');
    await store.delete('kept');
    await store.close();
  });

  it('a 503 ServerBusy with Retry-After, on a read and on a head, is retried no sooner than the server asked', async () => {
    const { accountUrl, accountName, accountKey } = azurite();
    const upstream = new URL(accountUrl);
    let throttle = 0;
    const proxy = await startAlteringProxy(upstream.origin, {
      response: (r) => (r.path.includes('/throttled') && throttle > 0 ? (throttle--, { status: 503, headers: { 'retry-after': '2', 'x-ms-error-code': 'ServerBusy' }, body: '' }) : undefined),
    });
    const sleeps: number[] = [];
    const config = testConfig('throttled', { connectionString: undefined, accountUrl: `${proxy.url}${upstream.pathname}`, accountName, accountKey });
    const store = provider.create(config, { retry: { sleep: async (ms) => void sleeps.push(ms) } }) as AzureColdStore;
    try {
      await store.driver.container.createIfNotExists();
      await store.put('throttled', Buffer.from('bytes'));
      throttle = 1;
      expect((await readAll(await store.get('throttled'))).toString()).toBe('bytes');
      throttle = 1;
      expect(await store.head('throttled')).toMatchObject({ size: 5 });
      expect(throttle, 'both throttled answers were met').toBe(0);
      expect(sleeps).toEqual([2_000, 2_000]);
      await store.delete('throttled');
    } finally {
      await store.close();
      await proxy.close();
    }
  });

  for (const stall of ['answer', 'body'] as const) {
    it(`a server that goes silent (${stall === 'answer' ? 'never answers' : 'stops mid-body'}) fails every operation UNAVAILABLE within the idle timeout, instead of hanging`, async () => {
      const { accountName, accountKey } = azurite();
      const silent = await startSilentServer({ stall });
      const config = testConfig('silent', { connectionString: undefined, accountUrl: `${silent.url}/${accountName}`, accountName, accountKey, blockSizeMb: 0.25 });
      const quiet = new DriverColdStore(new AzureDriver(config, { idleTimeoutMs: 300 }), { prefix: 'silent', retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 } });
      try {
        await expectEveryOperationGivesUp(quiet, silent, 30_000);
        // And the repair of leftover uploads (it lists the container twice).
        await expectCode(quiet.abortStaleUploads(0), 'UNAVAILABLE');
      } finally {
        await quiet.close();
        await silent.close();
      }
    });
  }


  it("a failed write's clean-up never deletes a blob another writer committed meanwhile", async () => {
    // The clean-up of a failed block write deletes the blob while it has only uncommitted
    // blocks. Azurite ignores If-None-Match on a delete, so a check first and the delete after
    // left a window: another writer's commit landing between them was deleted, though its put
    // had succeeded (2 of 20 rounds of 8 writers on one key, half of them aborted).
    const store = provider.create(testConfig('abort-race')) as AzureColdStore;
    const other = provider.create(testConfig('abort-race')) as AzureColdStore;
    const key = 'contested';
    const exists = BlobClient.prototype.exists;
    const spy = vi.spyOn(BlobClient.prototype, 'exists').mockImplementation(async function (this: BlobClient, ...args) {
      const found = await exists.apply(this, args);
      // The other writer's commit lands right after the failed write's check.
      if (this.name.endsWith(key)) await other.put(key, Buffer.from('the winner'));
      return found;
    });
    try {
      await store.driver.container.createIfNotExists();
      const partSize = store.partSize;
      const failing = Readable.from(
        (async function* () {
          yield patternedBytes(2 * partSize, 3);
          throw new Error('the source broke');
        })(),
      );
      await expectCode(store.put(key, failing), 'UNAVAILABLE');
      expect(spy).toHaveBeenCalled();
      expect((await store.head(key))?.size, "the other writer's committed blob is still there").toBe('the winner'.length);
      expect((await readAll(await store.get(key))).toString()).toBe('the winner');
      expect(await store.openUploads()).toEqual([]);
    } finally {
      spy.mockRestore();
      await store.delete(key);
      await Promise.all([store.close(), other.close()]);
    }
  });

  it("a write whose staged blocks another write's commit discarded fails naming why, and the other write's blob stays", async () => {
    // Azure keeps one set of uncommitted blocks per blob; a commit discards those it does not
    // name. Concurrent overwrites of one key (8 writers) failed this way about 3 times a round,
    // as a bare "UNAVAILABLE: HTTP 400 InvalidBlockList: The specified block list is invalid."
    const store = provider.create(testConfig('discarded-blocks')) as AzureColdStore;
    const key = 'two-writers';
    try {
      await store.driver.container.createIfNotExists();
      const partSize = store.partSize;
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const slow = Readable.from(
        (async function* () {
          yield patternedBytes(partSize + partSize / 2, 1); // the first block goes out
          await gate;
          yield patternedBytes(partSize, 2);
        })(),
      );
      const slowPut = store.put(key, slow);
      slowPut.catch(() => {});
      await vi.waitFor(async () => expect((await store.openUploads()).map((u) => u.key)).toEqual([key]), { timeout: 10_000 });
      await store.put(key, patternedBytes(2 * partSize, 3)); // commits, discarding the slow write's block
      release();
      const error = await expectCode(slowPut, 'UNAVAILABLE');
      expect(error.message).toMatch(/another write to the same blob/);
      expect((await store.head(key))?.size).toBe(2 * partSize);
    } finally {
      await store.delete(key);
      await store.close();
    }
  });

  it('connection resets under 32 concurrent puts are UNAVAILABLE and retried, for a store built with provider.create', async () => {
    const { accountUrl, accountName, accountKey } = azurite();
    const upstream = new URL(accountUrl);
    const tcp = new TcpProxy(Number(upstream.port), RESET_EVERY_THIRD_OF_32);
    await tcp.open();
    const store = provider.create(testConfig('reset-storm', { connectionString: undefined, accountUrl: `${tcp.endpoint}${upstream.pathname}`, accountName, accountKey }));
    try {
      await expectConcurrentPutsSurviveResets(store, tcp);
    } finally {
      await store.close();
      await tcp.cut();
    }
  });
});

describe('azure: a server that stops answering', () => {
 it('puts (their staged blocks too), gets and heads fail UNAVAILABLE once the server is silent, instead of hanging', async () => {
   // Accepts connections and reads requests, but never answers: a partition or a hung server.
   // The SDK's requests had no timeout, and blocks are staged without the caller's signal, so
   // such a put hung for ever, even once aborted (checked for 200 s against a proxy gone silent).
   const sockets = new Set<Socket>();
   const silent = createServer((socket) => {
     sockets.add(socket);
     socket.on('error', () => {});
     socket.resume();
   });
   await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
   const { accountName, accountKey, connectionString } = azurite();
   const url = `http://127.0.0.1:${(silent.address() as { port: number }).port}/${accountName}`;
   const configs = [
     testConfig('silent', { connectionString: undefined, accountUrl: url, accountName, accountKey }),
     testConfig('silent', { connectionString: connectionString.replace(/BlobEndpoint=[^;]*/, `BlobEndpoint=${url}`) }),
   ];
   try {
     for (const config of configs) {
       const store = new DriverColdStore(new AzureDriver(config, { idleTimeoutMs: 300 }), { retry: { baseDelayMs: 1, maxDelayMs: 2 } });
       const started = performance.now();
       const small = await expectCode(store.put('small', patternedBytes(1000, 1)), 'UNAVAILABLE');
       expect(small.retryable).toBe(true);
       expect(small.message).toContain('ETIMEDOUT');
       await expectCode(store.get('small'), 'UNAVAILABLE');
       await expectCode(store.head('small'), 'UNAVAILABLE');
       await expectCode(store.put('large', patternedBytes(3 * store.partSize, 2)), 'UNAVAILABLE');
       // Four attempts of each request at 300 ms, not for ever.
       expect(performance.now() - started).toBeLessThan(25_000);
       await store.close();
     }
   } finally {
     for (const socket of sockets) socket.destroy();
     silent.close();
   }
 }, 80_000);
});
