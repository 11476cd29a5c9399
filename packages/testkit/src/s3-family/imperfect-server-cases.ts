import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importProvider, TransferPool, type StoreContext } from '@takhin/core';
import { patternedBytes, patternedStream, readAll } from '../bodies/patterned-body.js';
import { expectCode } from '../contract/assertions.js';
import { expectConcurrentPutsSurviveResets, RESET_EVERY_THIRD_OF_32 } from '../network/reset-storm.js';
import { startS3StubServer, type S3StubServer } from '../network/s3-stub-server.js';
import { TcpProxy } from '../network/tcp-proxy.js';
import type { S3FamilyBackend, S3FamilySettings, S3FamilyStore } from './s3-family-backend.js';
import { createBucket, sharedMinioSettings } from './shared-minio-settings.js';

/**
 * What an S3-protocol backend must survive from servers other than MinIO, each behaviour played
 * by the testkit's S3 stub: a `Range` ignored, a range past the end answered without an error, a
 * rejected batch delete, an ignored `If-None-Match`; and connection resets under concurrent puts
 * (through a TCP proxy in front of MinIO). Registered by `describeS3FamilyBehaviour`.
 */
export function defineImperfectServerCases<Config>(
  name: string,
  backend: S3FamilyBackend<Config>,
  storeOf: (settings: S3FamilySettings, context?: StoreContext) => S3FamilyStore,
): void {
describe(`${name}: imperfect S3-compatible servers (the testkit's S3 stub)`, () => {
  let stub: S3StubServer | undefined;
  afterEach(() => stub?.close());
  const stubSettings = (url: string): S3FamilySettings => ({
    endpoint: url,
    accessKey: 'stub',
    secretKey: 'stub-secret',
    region: 'us-east-1',
    bucket: 'imperfect',
    prefix: 'p',
    partSizeMb: 5,
    queueSize: 2,
  });
  const bytes = patternedBytes(10_000, 3);
  const ranges = [
    [0, 1],
    [9_999, 1],
    [1_234, 4_321],
    [9_000, undefined],
    [9_990, 500],
  ] as const;

  it('a server that ignores Range and sends the whole object: every get still returns exactly the bytes asked for', async () => {
    stub = await startS3StubServer({ ignoreRange: true });
    const store = storeOf(stubSettings(stub.url));
    await store.put('object', bytes);
    for (const [offset, length] of ranges) {
      const got = await readAll(await store.get('object', { range: length === undefined ? { offset } : { offset, length } }));
      expect(Buffer.compare(got, bytes.subarray(offset, length === undefined ? undefined : offset + length)), `range ${offset}+${length}`).toBe(0);
    }
    await expectCode(store.get('object', { range: { offset: 10_000 } }), 'INVALID_RANGE');
    // The stub did ignore them: ranged requests, whole answers.
    expect(stub.requests.filter((r) => r.method === 'GET' && r.headers.range !== undefined).length).toBeGreaterThanOrEqual(ranges.length);
    await store.close();
  });

  for (const answer of ['empty-200', 'whole-200', 'empty-206'] as const) {
    it(`a range past the end answered without an error (${answer}) is INVALID_RANGE`, async () => {
      stub = await startS3StubServer({ rangePastEnd: answer });
      const store = storeOf(stubSettings(stub.url));
      await store.put('object', bytes);
      await expectCode(store.get('object', { range: { offset: 10_000 } }), 'INVALID_RANGE');
      await expectCode(store.get('object', { range: { offset: 20_000, length: 5 } }), 'INVALID_RANGE');
      expect([...(await readAll(await store.get('object', { range: { offset: 9_999 } })))]).toEqual([bytes[9_999]]);
      await store.close();
    });
  }

  it('a rejected batch delete falls back to single deletes, and the store remembers it', async () => {
    stub = await startS3StubServer({ rejectBatchDelete: true });
    const store = storeOf(stubSettings(stub.url));
    expect(store.capabilities.maxDeleteBatch).toBe(1000);
    for (const key of ['a', 'b', 'c', 'd', 'e']) await store.put(key, Buffer.from(key));
    await store.delete(['a', 'b', 'c']);
    for (const key of ['a', 'b', 'c']) expect(await store.head(key)).toBeNull();
    const batchRequests = () => stub!.requests.filter((r) => r.method === 'POST' && r.path.includes('delete')).length;
    expect(batchRequests()).toBe(1);
    expect(store.capabilities.maxDeleteBatch, 'reported once learnt').toBe(1);
    await store.delete(['d', 'e']);
    expect(await store.head('d')).toBeNull();
    expect(batchRequests(), 'no second batch request').toBe(1);
    await store.close();
  });

  it('a listing whose server names a continuation token it already answered fails instead of looping', async () => {
    stub = await startS3StubServer();
    const store = storeOf(stubSettings(stub.url));
    for (const key of ['a', 'b', 'c', 'd', 'e']) await store.put(key, Buffer.from(key));
    const listed = async () => {
      const keys: string[] = [];
      for await (const object of store.list('', { pageSize: 2 })) {
        keys.push(object.key);
        if (keys.length > 20) throw new Error(`the listing looped: ${keys.join(',')}`);
      }
      return keys;
    };
    expect(await listed(), 'pages followed to the end').toEqual(['a', 'b', 'c', 'd', 'e']);
    stub.imperfections.repeatListToken = true;
    const listPages = () => stub!.requests.filter((r) => r.method === 'GET' && r.path.includes('list-type=2')).length;
    const before = listPages();
    const error = await listed().then(() => undefined, (e: unknown) => e);
    expect(error).toMatchObject({ code: 'UNAVAILABLE', retryable: false });
    expect(String(error)).toMatch(/continuation token .* again/);
    expect(listPages() - before, 'stopped at the first repeated token').toBe(2);
    await store.close();
  });

  it('a listing page marked truncated that names no continuation token fails instead of ending the listing early', async () => {
    stub = await startS3StubServer({ omitListToken: true });
    const store = storeOf(stubSettings(stub.url));
    for (const key of ['a', 'b', 'c', 'd', 'e']) await store.put(key, Buffer.from(key));
    const keys: string[] = [];
    // Before: the listing ended after the first page ('a', 'b'), as if that were every object.
    const error = await (async () => {
      for await (const object of store.list('', { pageSize: 2 })) keys.push(object.key);
    })().then(() => undefined, (e: unknown) => e);
    expect(keys, 'the page that cannot be followed is refused whole').toEqual([]);
    expect(error).toMatchObject({ code: 'UNAVAILABLE', retryable: false });
    expect(String(error)).toMatch(/truncated but named no continuation token/);
    stub.imperfections.omitListToken = false;
    const all: string[] = [];
    for await (const object of store.list('', { pageSize: 2 })) all.push(object.key);
    expect(all).toEqual(['a', 'b', 'c', 'd', 'e']);
    await store.close();
  });

  it('a 503 SlowDown with Retry-After is retried no sooner than the server asked', async () => {
    stub = await startS3StubServer();
    const sleeps: number[] = [];
    const store = storeOf(stubSettings(stub.url), { retry: { sleep: async (ms) => void sleeps.push(ms) } });
    await store.put('object', bytes);
    stub.imperfections.throttleGets = { times: 2, retryAfterSeconds: 3 };
    expect(Buffer.compare(await readAll(await store.get('object')), bytes)).toBe(0);
    expect(stub.imperfections.throttleGets.times, 'both throttled answers were met').toBe(0);
    expect(sleeps).toEqual([3_000, 3_000]);
    await store.close();
  });

  it('a read into memory that meets a 503 with Retry-After waits as asked before the next request', async () => {
    stub = await startS3StubServer();
    const sleeps: number[] = [];
    const store = storeOf(stubSettings(stub.url), { retry: { sleep: async (ms) => void sleeps.push(ms) } });
    await store.put('object', bytes);
    stub.imperfections.throttleGets = { times: 2, retryAfterSeconds: 3 };
    const buffer = Buffer.alloc(bytes.length);
    let filled = 0;
    await store.readInto!('object', { space: () => buffer.subarray(filled), filled: (n) => void (filled += n) });
    expect(Buffer.compare(buffer, bytes)).toBe(0);
    expect(sleeps, 'each throttled answer waited for').toEqual([3_000, 3_000]);
    await store.close();
  });

  it("a TransferPool worker's store retries as its target's retry settings say (a container's RETRY_POLICY)", async () => {
    stub = await startS3StubServer();
    const store = storeOf(stubSettings(stub.url));
    await store.put('object', bytes);
    await store.close();
    const dir = await mkdtemp(join(tmpdir(), 'takhin-pool-retry-'));
    const pool = new TransferPool({ maxThreads: 1 });
    try {
      const target = { module: backend.module, config: backend.config(stubSettings(stub.url)) };
      // Two: a plain-HTTP read that meets an error answer hands the read to the client's get.
      stub.imperfections.throttleGets = { times: 2, retryAfterSeconds: 0 };
      await expectCode(pool.downloadFile('object', join(dir, 'once'), { ...target, retry: { maxAttempts: 1 } }), 'THROTTLED');
      stub.imperfections.throttleGets = { times: 2, retryAfterSeconds: 0 };
      expect((await pool.downloadFile('object', join(dir, 'retried'), target)).size).toBe(bytes.length);
      expect(stub.imperfections.throttleGets.times, 'the throttled answers were met, then retried').toBe(0);
    } finally {
      await pool.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a server that ignores If-None-Match is found out at first use; ifNoneMatch is then a head before the write, and the capability says so', async () => {
    stub = await startS3StubServer({ ignoreConditionalWrites: true });
    const store = storeOf(stubSettings(stub.url));
    expect(store.capabilities.conditionalWrites).toBe('unknown');
    await store.put('kept', Buffer.from('original'));
    await expectCode(store.put('kept', Buffer.from('intruder'), { ifNoneMatch: true }), 'ALREADY_EXISTS');
    expect(store.capabilities.conditionalWrites).toBe('head-check');
    expect((await readAll(await store.get('kept'))).toString()).toBe('original');
    const size = store.partSize + 1;
    await expectCode(store.put('kept', patternedStream(size, 4), { size, ifNoneMatch: true }), 'ALREADY_EXISTS');
    expect((await readAll(await store.get('kept'))).toString()).toBe('original');
    await store.put('fresh', Buffer.from('new'), { ifNoneMatch: true });
    // One probe, at first use, and nothing of it left behind.
    const probes = stub.requests.filter((r) => r.method === 'PUT' && r.path.includes('.takhin/probe/'));
    expect(probes).toHaveLength(2);
    expect([...stub.objects.keys()].filter((key) => key.includes('.takhin'))).toEqual([]);
    await store.close();
  });

  it('a server that honours If-None-Match is found to, and trusted from then on', async () => {
    stub = await startS3StubServer();
    const store = storeOf(stubSettings(stub.url));
    await store.put('kept', Buffer.from('original'));
    await expectCode(store.put('kept', Buffer.from('intruder'), { ifNoneMatch: true }), 'ALREADY_EXISTS');
    expect(store.capabilities.conditionalWrites).toBe('server');
    expect([...stub.objects.keys()].filter((key) => key.includes('.takhin'))).toEqual([]);
    await store.close();
  });

  it('connection resets under 32 concurrent puts are UNAVAILABLE and retried, for a store built with provider.create', async () => {
    const settings = sharedMinioSettings(name, { prefix: `reset-storm-${process.pid}` });
    await createBucket(backend, settings);
    const proxy = new TcpProxy(Number(new URL(settings.endpoint).port), RESET_EVERY_THIRD_OF_32);
    await proxy.open();
    const provider = await importProvider(backend.module);
    const store = provider.create(provider.parseConfig(backend.config({ ...settings, endpoint: proxy.endpoint })));
    try {
      await expectConcurrentPutsSurviveResets(store, proxy);
    } finally {
      await store.close();
      await proxy.cut();
    }
  });
});
}
