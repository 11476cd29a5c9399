import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  ColdStoreError,
  RetryingColdStore,
  backoffDelay,
  notFound,
  parseRetryAfter,
  retryAfterMs,
  retrying,
  throttled,
  unavailable,
  withRetry,
  type ColdStore,
  type ObjectDescription,
  type RetryEvent,
} from '@takhin/core';

const description: ObjectDescription = { key: 'k', size: 1, checksums: {}, metadata: {} };

/** A ColdStore whose `head` fails with the given errors, then succeeds; counts calls. */
function flakyStore(failures: ColdStoreError[]): ColdStore & { calls: number } {
  const store = {
    backend: 'flaky',
    capabilities: { sha256OnHead: true, serverVerifiesCrc32c: false, maxKeyBytes: 1024, maxDeleteBatch: 1000 },
    calls: 0,
    async head() {
      store.calls++;
      const failure = failures.shift();
      if (failure) throw failure;
      return description;
    },
    async put(_key: string, body: unknown) {
      store.calls++;
      if (body instanceof Readable) body.resume();
      const failure = failures.shift();
      if (failure) throw failure;
      return description;
    },
    async get() {
      store.calls++;
      const failure = failures.shift();
      if (failure) throw failure;
      return Readable.from([]);
    },
    async delete() {
      store.calls++;
      const failure = failures.shift();
      if (failure) throw failure;
    },
    async *list() {
      store.calls++;
      const failure = failures.shift();
      if (failure) throw failure;
      yield description;
    },
    async close() {},
  };
  return store;
}

const instant = { sleep: async () => {}, random: () => 0.5 };

describe('RetryingColdStore', () => {
  it('retries retryable codes until success', async () => {
    const inner = flakyStore([unavailable('flaky', 'k', 'down'), throttled('flaky', 'k')]);
    const events: RetryEvent[] = [];
    const store = new RetryingColdStore(inner, { ...instant, onRetry: (e) => events.push(e) });
    await expect(store.head('k')).resolves.toBe(description);
    expect(inner.calls).toBe(3);
    expect(events.map((e) => [e.operation, e.attempt, e.error.code])).toEqual([
      ['head', 1, 'UNAVAILABLE'],
      ['head', 2, 'THROTTLED'],
    ]);
  });

  it('does not retry non-retryable codes', async () => {
    const inner = flakyStore([notFound('flaky', 'k')]);
    await expect(new RetryingColdStore(inner, instant).get('k')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(inner.calls).toBe(1);
  });

  it('does not retry errors that are not ColdStoreErrors (bugs surface at once)', async () => {
    const inner = flakyStore([new TypeError('boom') as unknown as ColdStoreError]);
    await expect(new RetryingColdStore(inner, instant).head('k')).rejects.toThrow('boom');
    expect(inner.calls).toBe(1);
  });

  it('gives up after maxAttempts and surfaces the last error', async () => {
    const inner = flakyStore(Array.from({ length: 10 }, () => unavailable('flaky', 'k', 'down')));
    await expect(new RetryingColdStore(inner, { ...instant, maxAttempts: 3 }).delete('k')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(inner.calls).toBe(3);
  });

  it('retries byte-array puts but never a streamed put (its bytes cannot be replayed)', async () => {
    const bytesInner = flakyStore([unavailable('flaky', 'k', 'down')]);
    await new RetryingColdStore(bytesInner, instant).put('k', Buffer.from('x'));
    expect(bytesInner.calls).toBe(2);

    const streamInner = flakyStore([unavailable('flaky', 'k', 'down')]);
    await expect(new RetryingColdStore(streamInner, instant).put('k', Readable.from([Buffer.from('x')]))).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
    expect(streamInner.calls).toBe(1);
  });

  it('retries a listing that fails before its first object', async () => {
    const inner = flakyStore([unavailable('flaky', '', 'down')]);
    const listed: ObjectDescription[] = [];
    for await (const item of new RetryingColdStore(inner, instant).list('')) listed.push(item);
    expect(listed).toEqual([description]);
    expect(inner.calls).toBe(2);
  });

  it('an abort during backoff stops retrying with ABORTED', async () => {
    const inner = flakyStore(Array.from({ length: 10 }, () => unavailable('flaky', 'k', 'down')));
    const controller = new AbortController();
    const store = new RetryingColdStore(inner, { baseDelayMs: 60_000, maxDelayMs: 60_000, random: () => 1 });
    const pending = store.get('k', { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await expect(pending).rejects.toMatchObject({ code: 'ABORTED' });
    expect(inner.calls).toBe(1);
  });

  it('withRetry does not wrap twice', () => {
    const once = withRetry(flakyStore([]));
    expect(withRetry(once)).toBe(once);
  });
});

describe('backoffDelay', () => {
  it('is full jitter under an exponential, capped ceiling', () => {
    const policy = { baseDelayMs: 100, maxDelayMs: 1000, random: () => 0.999 };
    expect([1, 2, 3, 4, 5].map((attempt) => backoffDelay(policy, attempt))).toEqual([99, 199, 399, 799, 999]);
    expect(backoffDelay({ ...policy, random: () => 0 }, 3)).toBe(0);
  });
});

describe('Retry-After', () => {
  const throttledWith = (cause: unknown) => throttled('flaky', 'k', cause);

  it('is read from where each client keeps the answer\'s headers, in seconds or as an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs(throttledWith({ $response: { headers: { 'retry-after': '2' } } }), now)).toBe(2_000);
    expect(retryAfterMs(throttledWith({ response: { headers: new Headers({ 'Retry-After': '3' }) } }), now)).toBe(3_000);
    expect(retryAfterMs(throttledWith({ headers: { 'retry-after': 'Thu, 01 Jan 2026 00:00:04 GMT' } }), now)).toBe(4_000);
    expect(retryAfterMs(throttledWith(new Error('no headers')), now)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter('Thu, 01 Jan 2015 00:00:00 GMT')).toBe(0);
  });

  it('a retry waits at least what the server asked, up to maxDelayMs', async () => {
    const sleeps: number[] = [];
    const failures = [throttledWith({ $response: { headers: { 'retry-after': '2' } } }), throttledWith({ $response: { headers: { 'retry-after': '60' } } })];
    const policy = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 5_000, random: () => 0.5, sleep: async (ms: number) => void sleeps.push(ms) };
    await expect(retrying(policy, 'getObject', 'k', undefined, async () => {
      const failure = failures.shift();
      if (failure) throw failure;
      return 'done';
    })).resolves.toBe('done');
    expect(sleeps).toEqual([2_000, 5_000]);
  });
});
