import { afterEach, describe, expect, it } from 'vitest';
import { GcsColdStore, GcsDriver, provider } from '@takhin/backend-gcs';
import { DriverColdStore, type StoreContext } from '@takhin/core';
import {
  expectCode,
  expectConcurrentPutsSurviveResets,
  patternedBytes,
  readAll,
  RESET_EVERY_THIRD_OF_32,
  startAlteringProxy,
  expectEveryOperationGivesUp,
  startSilentServer,
  TcpProxy,
  type AlteringProxy,
} from '@takhin/testkit';
import { ensureBucket, gcsServer, testConfig } from './gcs-subject.js';

// GCS-compatible servers that fall short, played by fake-gcs-server behind a proxy that drops
// what such a server ignores (the emulator's requests are not signed, so the proxy may).
describe('gcs: imperfect GCS-compatible servers', () => {
  let proxy: AlteringProxy | undefined;
  let store: GcsColdStore | undefined;
  afterEach(async () => {
    await store?.close();
    await proxy?.close();
  });
  const bytes = patternedBytes(10_000, 5);

  const storeBehind = async (hooks: Parameters<typeof startAlteringProxy>[1], context?: StoreContext) => {
    proxy = await startAlteringProxy(gcsServer().endpoint, hooks);
    store = provider.create(testConfig('imperfect', { endpoint: proxy.url }), context) as GcsColdStore;
    await ensureBucket(store);
    return store;
  };

  it('a server that ignores Range and sends the whole object: every get still returns exactly the bytes asked for', async () => {
    const answers: number[] = [];
    const s = await storeBehind({
      request: (r) => void delete r.headers.range,
      response: (r, status) => void (r.path.includes('alt=media') && answers.push(status)),
    });
    await s.put('ranged', bytes);
    for (const [offset, length] of [[0, 1], [9_999, 1], [1_234, 4_321], [9_000, undefined], [9_990, 500]] as const) {
      const got = await readAll(await s.get('ranged', { range: length === undefined ? { offset } : { offset, length } }));
      expect(Buffer.compare(got, bytes.subarray(offset, length === undefined ? undefined : offset + length))).toBe(0);
    }
    await expectCode(s.get('ranged', { range: { offset: 10_000 } }), 'INVALID_RANGE');
    expect(answers.every((status) => status === 200), `the server answered ${answers.join(', ')}`).toBe(true);
    await s.delete('ranged');
  });

  it('a range past the end answered 200 with no bytes is INVALID_RANGE', async () => {
    let replaced = 0;
    const s = await storeBehind({ response: (_request, status) => (status === 416 ? (replaced++, { status: 200, body: '' }) : undefined) });
    await s.put('past-end', bytes);
    await expectCode(s.get('past-end', { range: { offset: 10_000 } }), 'INVALID_RANGE');
    await expectCode(s.get('past-end', { range: { offset: 50_000, length: 1 } }), 'INVALID_RANGE');
    expect(replaced, 'the server did answer 416, turned into 200').toBe(2);
    await s.delete('past-end');
  });

  it('a server that ignores ifGenerationMatch=0 is found out at first use; ifNoneMatch is then a head before the write', async () => {
    const s = await storeBehind({
      request: (r) => {
        const url = new URL(r.path, 'http://x');
        url.searchParams.delete('ifGenerationMatch');
        r.path = `${url.pathname}${url.search}`;
      },
    });
    await s.put('kept', Buffer.from('original'));
    await expectCode(s.put('kept', Buffer.from('intruder'), { ifNoneMatch: true }), 'ALREADY_EXISTS');
    expect(s.capabilities.conditionalWrites).toBe('head-check');
    expect((await readAll(await s.get('kept'))).toString()).toBe('original');
    expect(proxy!.requests.filter((r) => r.path.includes('takhin%2Fprobe') || r.path.includes('.takhin/probe')).length).toBeGreaterThan(0);
    await s.delete('kept');
  });

  it('a 503 with Retry-After, on the byte path and on a metadata call, is retried no sooner than the server asked', async () => {
    const sleeps: number[] = [];
    let throttle = 0;
    const s = await storeBehind(
      { response: (r) => (r.method === 'GET' && throttle > 0 ? (throttle--, { status: 503, headers: { 'retry-after': '2', 'content-type': 'application/json' }, body: '{"error":{"code":503,"message":"slow down"}}' }) : undefined) },
      { retry: { sleep: async (ms) => void sleeps.push(ms) } },
    );
    await s.put('throttled', bytes);
    throttle = 1;
    expect(Buffer.compare(await readAll(await s.get('throttled')), bytes)).toBe(0);
    throttle = 1;
    expect(await s.head('throttled')).toMatchObject({ size: bytes.length });
    expect(throttle, 'both throttled answers were met').toBe(0);
    expect(sleeps).toEqual([2_000, 2_000]);
    await s.delete('throttled');
  });

  for (const stall of ['answer', 'body'] as const) {
    it(`a server that goes silent (${stall === 'answer' ? 'never answers' : 'stops mid-body'}) fails every operation UNAVAILABLE within the idle timeout, instead of hanging`, async () => {
      const silent = await startSilentServer({ stall });
      const quiet = new DriverColdStore(new GcsDriver(testConfig('silent', { endpoint: silent.url, chunkSizeMb: 0.25 }), { idleTimeoutMs: 300 }), { prefix: 'silent', retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 } });
      try {
        await expectEveryOperationGivesUp(quiet, silent, 20_000);
      } finally {
        await quiet.close();
        await silent.close();
      }
    });
  }


  it('the idle timeout of a streamed upload is armed per part without piling up listeners', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => void warnings.push(`${warning.name}: ${warning.message}`);
    process.on('warning', onWarning);
    const streaming = provider.create(testConfig('imperfect', { chunkSizeMb: 0.25 })) as GcsColdStore;
    try {
      await ensureBucket(streaming);
      const size = 24 * 256 * 1024 + 7;
      await streaming.put('streamed', patternedBytes(size, 9), { size });
      expect((await streaming.head('streamed'))?.size).toBe(size);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((w) => w.includes('MaxListenersExceeded'))).toEqual([]);
      await streaming.delete('streamed');
    } finally {
      process.off('warning', onWarning);
      await streaming.close();
    }
  });

  it('fake-gcs-server itself honours ifGenerationMatch=0, and the store trusts it', async () => {
    const s = await storeBehind({});
    await s.put('kept', Buffer.from('original'));
    await expectCode(s.put('kept', Buffer.from('intruder'), { ifNoneMatch: true }), 'ALREADY_EXISTS');
    expect(s.capabilities.conditionalWrites).toBe('server');
    await s.delete('kept');
  });

  it('connection resets under 32 concurrent puts are UNAVAILABLE and retried, for a store built with provider.create', async () => {
    const tcp = new TcpProxy(Number(new URL(gcsServer().endpoint).port), RESET_EVERY_THIRD_OF_32);
    await tcp.open();
    const resetting = provider.create(testConfig('reset-storm', { endpoint: tcp.endpoint }));
    try {
      await ensureBucket(resetting as GcsColdStore);
      await expectConcurrentPutsSurviveResets(resetting, tcp);
    } finally {
      await resetting.close();
      await tcp.cut();
    }
  });
});
