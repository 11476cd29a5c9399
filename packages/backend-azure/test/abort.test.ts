import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AzureColdStore, provider } from '@takhin/backend-azure';
import { expectCode, patternedBytes } from '@takhin/testkit';
import { testConfig } from './azure-subject.js';

/** A producer that hands over `bytes` and then hangs: no further chunk, no end. */
async function* stallingBody(bytes: Buffer): AsyncGenerator<Buffer> {
  yield bytes;
  await new Promise(() => {});
}

/**
 * An abort must not wait for the body: a put whose source has stalled fails ABORTED at once
 * (the read itself is aborted), instead of when, if ever, the next block arrives.
 */
describe('azure: an abort stops a put whose body has stalled', () => {
  let store: AzureColdStore;
  beforeAll(async () => {
    store = provider.create(testConfig(`abort-${process.pid}-${Date.now().toString(36)}`)) as AzureColdStore;
    await store.container.createIfNotExists();
  });
  afterAll(() => store.close());

  it.each([
    ['inside the first block, before any request', 0.5, 0],
    ['inside the second block, with the first one staged', 1.5, 1],
  ])('stalled %s: ABORTED within a second, no blob, no staged blocks', async (_, blocks, staged) => {
    const key = `stalled-${blocks}`;
    const size = blocks * store.blockSize;
    let read = 0;
    const controller = new AbortController();
    const put = store.put(key, stallingBody(patternedBytes(size)), { signal: controller.signal, onProgress: (bytes) => (read = bytes) });
    await vi.waitFor(async () => {
      expect(read).toBe(size);
      expect(await store.uncommittedBlobs()).toHaveLength(staged);
    });
    await sleep(50); // time for the put to settle into waiting on the body

    const abortedAt = performance.now();
    controller.abort(new Error('test abort'));
    await expectCode(put, 'ABORTED');
    expect(performance.now() - abortedAt).toBeLessThan(1000);
    expect(await store.head(key)).toBeNull();
    expect(await store.uncommittedBlobs()).toEqual([]);
  }, 10_000); // a put that ignores the abort would otherwise hang until the suite's timeout
});
