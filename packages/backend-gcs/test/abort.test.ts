import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { GcsColdStore, provider } from '@takhin/backend-gcs';
import { expectCode, patternedBytes } from '@takhin/testkit';
import { ensureBucket, testConfig } from './gcs-subject.js';

/** A producer that hands over `bytes` and then hangs: no further chunk, no end. */
async function* stallingBody(bytes: Buffer): AsyncGenerator<Buffer> {
  yield bytes;
  await new Promise(() => {});
}

/**
 * An abort must not wait for the body: a put whose source has stalled fails ABORTED at once
 * (the read itself is aborted), instead of when, if ever, the next chunk arrives.
 */
describe('gcs: an abort stops a put whose body has stalled', () => {
  let store: GcsColdStore;
  beforeAll(async () => {
    store = provider.create(testConfig(`abort-${process.pid}-${Date.now().toString(36)}`)) as GcsColdStore;
    await ensureBucket(store);
  });
  afterAll(() => store.close());

  it.each([
    ['inside the first chunk, before any request', 0.5, 0],
    ['inside the second chunk, with a resumable session open', 1.5, 1],
  ])('stalled %s: ABORTED within a second, no object, no open session', async (_, chunks, sessions) => {
    const key = `stalled-${chunks}`;
    const size = chunks * store.chunkSize;
    let read = 0;
    const controller = new AbortController();
    const put = store.put(key, stallingBody(patternedBytes(size)), { signal: controller.signal, onProgress: (bytes) => (read = bytes) });
    await vi.waitFor(() => {
      expect(read).toBe(size);
      expect(store.openUploadSessions()).toHaveLength(sessions);
    });
    await sleep(50); // time for the put to settle into waiting on the body

    const abortedAt = performance.now();
    controller.abort(new Error('test abort'));
    await expectCode(put, 'ABORTED');
    expect(performance.now() - abortedAt).toBeLessThan(1000);
    expect(await store.head(key)).toBeNull();
    expect(store.openUploadSessions()).toEqual([]);
  }, 10_000); // a put that ignores the abort would otherwise hang until the suite's timeout
});
