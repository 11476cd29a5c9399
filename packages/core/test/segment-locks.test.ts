import { describe, expect, it } from 'vitest';
import { SegmentLocks } from '@takhin/core';


/** An operation that runs until `finish` (or its signal), recording that it ran and how it ended. */
function gated(log: string[], name: string) {
  let finish!: (value: string) => void;
  const result = new Promise<string>((resolve) => (finish = resolve));
  let signal: AbortSignal | undefined;
  const operation = (shared: AbortSignal) => {
    signal = shared;
    log.push(`${name} started`);
    return new Promise<string>((resolve, reject) => {
      shared.addEventListener('abort', () => {
        log.push(`${name} aborted`);
        reject(Object.assign(new Error(`${name} rolled back`), { code: 'ABORTED' }));
      });
      void result.then(resolve);
    });
  };
  return { operation, finish: (value = name) => finish(value), signal: () => signal };
}

const settle = (promise: Promise<unknown>) => promise.then((value) => ({ value }), (error: Error & { code?: string }) => ({ error: error.code ?? error.message }));

describe('SegmentLocks', () => {
  it('a request of the kind already running shares it; one of another kind runs after it', async () => {
    const locks = new SegmentLocks('test');
    const log: string[] = [];
    const restore = gated(log, 'restore');
    const first = locks.run('s', 'restore', restore.operation);
    const second = locks.run('s', 'restore', () => Promise.resolve('a second restore'));
    const evict = locks.run('s', 'evict', async () => (log.push('evict'), 'evicted'));
    await Promise.resolve();
    restore.finish();
    expect(await Promise.all([first, second, evict])).toEqual(['restore', 'restore', 'evicted']);
    expect(log).toEqual(['restore started', 'evict']);
    expect(locks.busy('s')).toBe(false);
  });

  it('a request asked after one of another kind is queued is not answered by the operation running before both', async () => {
    const locks = new SegmentLocks('test');
    const log: string[] = [];
    const restore = gated(log, 'restore');
    const first = locks.run('s', 'restore', restore.operation);
    const evict = locks.run('s', 'evict', async () => (log.push('evict'), 'evicted'));
    const again = locks.run('s', 'restore', async () => (log.push('restore again'), 'restored again'));
    await Promise.resolve();
    restore.finish();
    expect(await Promise.all([first, evict, again])).toEqual(['restore', 'evicted', 'restored again']);
    expect(log).toEqual(['restore started', 'evict', 'restore again']);
  });

  it('one caller aborting a shared operation stops waiting at once, and the operation goes on for the others', async () => {
    const locks = new SegmentLocks('test');
    const log: string[] = [];
    const restore = gated(log, 'restore');
    const a = new AbortController();
    const b = new AbortController();
    const first = settle(locks.run('s', 'restore', restore.operation, a.signal));
    const second = settle(locks.run('s', 'restore', restore.operation, b.signal));
    const third = settle(locks.run('s', 'restore', restore.operation));
    await Promise.resolve();
    a.abort('gave up');
    expect(await first).toEqual({ error: 'ABORTED' });
    expect(restore.signal()?.aborted).toBe(false);
    restore.finish();
    expect(await second).toEqual({ value: 'restore' });
    expect(await third).toEqual({ value: 'restore' });
  });

  it('the operation is aborted once every caller sharing it has, and the last one gets its roll-back', async () => {
    const locks = new SegmentLocks('test');
    const log: string[] = [];
    const restore = gated(log, 'restore');
    const a = new AbortController();
    const b = new AbortController();
    const first = settle(locks.run('s', 'restore', restore.operation, a.signal));
    const second = settle(locks.run('s', 'restore', restore.operation, b.signal));
    await Promise.resolve();
    a.abort('gave up');
    b.abort('gave up too');
    expect(await first).toEqual({ error: 'ABORTED' });
    expect(await second).toEqual({ error: 'ABORTED' });
    expect(log).toEqual(['restore started', 'restore aborted']);
    // A new request after that abort runs a new operation instead of sharing the one rolling back.
    expect(await locks.run('s', 'restore', async () => 'fresh')).toBe('fresh');
  });

  it('a caller whose signal has already fired never starts an operation nobody else wants', async () => {
    const locks = new SegmentLocks('test');
    const signal = AbortSignal.abort('too late');
    const result = await settle(locks.run('s', 'archive', async (shared) => (shared.aborted ? Promise.reject(Object.assign(new Error('not started'), { code: 'ABORTED' })) : 'ran'), signal));
    expect(result).toEqual({ error: 'ABORTED' });
    await locks.idle();
    expect(locks.busy('s')).toBe(false);
  });
});
