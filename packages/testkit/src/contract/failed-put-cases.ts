import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, vi } from 'vitest';
import { checksumBytes, uploadLocalFile } from '@takhin/core';
import { patternedBytes, patternedChecksums, patternedStream, readAll } from '../bodies/patterned-body.js';
import { seededRandom } from '../bodies/seeded-random.js';
import { expectCode, runConcurrently } from './assertions.js';
import type { ContractCase } from './subject.js';

/**
 * The contract's failed-put cases: an aborted, mismatched or mis-sized put stores nothing and
 * never replaces what was there; an abort storm leaves no object a put called aborted and no
 * open upload. Registered inside `describeColdStoreContract`'s describe.
 */
export function defineFailedPutCases(contractCase: ContractCase, freshKey: (label: string) => string): void {
  describe('failed puts leave nothing', () => {
    contractCase('an abort in the middle of a put leaves nothing visible', async (s) => {
      const key = freshKey('abort');
      const controller = new AbortController();
      const size = 3 * s.partSize + 17;
      const put = s.store.put(key, abortAfter(patternedStream(size, 13), s.partSize + 1, controller), {
        size,
        signal: controller.signal,
      });
      await expectCode(put, 'ABORTED');
      expect(await s.store.head(key)).toBeNull();
      expect(await s.listPendingUploads()).toEqual([]);
    });
    contractCase('an abort while the body has stalled is ABORTED at once and leaves nothing', async (s) => {
      // Stalls inside the first part (nothing sent yet) and inside the second (a multipart
      // upload under way): the put must not wait for bytes that may never come.
      for (const parts of [0.5, 1.5]) {
        const key = freshKey(`stalled-${parts}`);
        const size = Math.floor(parts * s.partSize);
        let read = 0;
        const controller = new AbortController();
        const put = s.store.put(key, stallingBody(patternedBytes(size, 15)), {
          signal: controller.signal,
          onProgress: (bytes) => (read = bytes),
        });
        put.catch(() => {}); // settled below; keep an early rejection from counting as unhandled
        await vi.waitFor(() => expect(read).toBe(size), { timeout: 10_000 });
        await new Promise((resolve) => setTimeout(resolve, 50)); // let the put settle into waiting
        const abortedAt = performance.now();
        controller.abort(new Error('test abort'));
        await expectCode(put, 'ABORTED');
        expect(performance.now() - abortedAt, 'milliseconds from abort to rejection').toBeLessThan(1_000);
        expect(await s.store.head(key)).toBeNull();
        expect(await s.listPendingUploads()).toEqual([]);
      }
    });
    contractCase('an already aborted signal is ABORTED before any request', async ({ store }) => {
      const key = freshKey('pre-aborted');
      await expectCode(store.put(key, Buffer.from('x'), { signal: AbortSignal.abort() }), 'ABORTED');
      expect(await store.head(key)).toBeNull();
    });
    contractCase('a declared checksum that does not match is CHECKSUM_MISMATCH and leaves nothing', async (s) => {
      const small = freshKey('mismatch-small');
      const wrong = checksumBytes(Buffer.from('something else'));
      await expectCode(s.store.put(small, Buffer.from('the real bytes'), { checksums: { crc32c: wrong.crc32c } }), 'CHECKSUM_MISMATCH');
      await expectCode(s.store.put(small, Buffer.from('the real bytes'), { checksums: { sha256: wrong.sha256 } }), 'CHECKSUM_MISMATCH');
      expect(await s.store.head(small)).toBeNull();

      const large = freshKey('mismatch-large');
      const size = 2 * s.partSize + 5;
      await expectCode(s.store.put(large, patternedStream(size, 14), { size, checksums: { sha256: wrong.sha256 } }), 'CHECKSUM_MISMATCH');
      expect(await s.store.head(large)).toBeNull();
      expect(await s.listPendingUploads()).toEqual([]);
    });
    contractCase('a body shorter or longer than its declared size is refused, and the stored copy stays', async (s) => {
      const key = freshKey('declared-size');
      await s.store.put(key, Buffer.from('the good copy'));
      const { partSize } = s;
      // [declared, actual]: single-request and multipart sizes, short and long bodies.
      const cases = [
        [100, 60],
        [100, 140],
        [2 * partSize + 1, partSize + 7],
        [partSize + 1, 2 * partSize + 9],
      ] as const;
      for (const [declared, actual] of cases) {
        const error = await expectCode(s.store.put(key, patternedStream(actual, 17), { size: declared }), 'CHECKSUM_MISMATCH');
        expect(error.message, `declared ${declared}, sent ${actual}`).toMatch(/size|bytes/);
        expect((await readAll(await s.store.get(key))).toString(), `after declared ${declared}, sent ${actual}`).toBe('the good copy');
      }
      expect(await s.listPendingUploads()).toEqual([]);
    });
    contractCase('an abort storm: a put that reports ABORTED stored nothing, one that succeeded is whole, no upload stays open', async (s) => {
      // Streamed bodies of every size class, aborted at random moments: half within 400 ms,
      // half once a random share of the body has been read (so fast servers are caught
      // mid-put too, and some aborts land while the put commits).
      const sizes = [0, 100, Math.floor(1.2 * s.partSize), Math.floor(4.8 * s.partSize)];
      const seed = (Date.now() % 100_000) + 1;
      const random = seededRandom(seed);
      const puts = Array.from({ length: 80 }, (_, i) => {
        const size = sizes[i % sizes.length]!;
        return { key: freshKey(`storm-${i}`), size, delayMs: i % 2 === 0 ? Math.floor(random() * 400) : undefined, atByte: Math.floor(random() * (size + 1)) };
      });
      const outcomes = new Map<string, PromiseSettledResult<unknown>>();
      await runConcurrently(puts, 10, async ({ key, size, delayMs, atByte }) => {
        const controller = new AbortController();
        const timer = delayMs === undefined ? undefined : setTimeout(() => controller.abort(new Error('storm abort')), delayMs);
        const body = delayMs === undefined ? abortAfter(patternedStream(size, size + 1), atByte, controller) : patternedStream(size, size + 1);
        const [outcome] = await Promise.allSettled([s.store.put(key, body, { size, signal: controller.signal })]);
        clearTimeout(timer);
        controller.abort(new Error('after the put')); // a byte-triggered abort may never have fired (an empty body)
        outcomes.set(key, outcome!);
      });
      let abortedCount = 0;
      for (const { key, size } of puts) {
        const outcome = outcomes.get(key)!;
        const head = await s.store.head(key);
        if (outcome.status === 'fulfilled') {
          expect(head?.size, `${key} (seed ${seed}) succeeded: it must be whole`).toBe(size);
          expect(head?.checksums.crc32c, `${key} (seed ${seed})`).toBe(patternedChecksums(size, size + 1).crc32c);
        } else {
          abortedCount++;
          expect((outcome.reason as { code?: unknown }).code, `${key} (seed ${seed}): ${String(outcome.reason)}`).toBe('ABORTED');
          expect(head, `${key} (seed ${seed}) reported ABORTED but is visible`).toBeNull();
        }
      }
      expect(abortedCount, 'the storm aborted some puts').toBeGreaterThan(0);
      expect(await s.listPendingUploads(), `open uploads after the storm (seed ${seed})`).toEqual([]);
      await s.store.delete(puts.map((p) => p.key));
    });
    contractCase('a local file aborted while it is read (uploadLocalFile) is ABORTED, leaves the stored copy, and throws nothing uncaught', async (s) => {
      // A file is read straight into part buffers, with no stream reader listening: the abort
      // destroyed its stream with an error nobody heard, which ended the process (in the pool,
      // the worker: its uploads stayed open and a put that had landed reported ABORTED).
      const dir = await mkdtemp(join(tmpdir(), 'takhin-contract-file-abort-'));
      const uncaught: unknown[] = [];
      const onUncaught = (error: unknown) => uncaught.push(error);
      process.on('uncaughtException', onUncaught);
      try {
        const key = freshKey('file-abort');
        await s.store.put(key, Buffer.from('the good copy'));
        const path = join(dir, 'segment.log');
        const size = (s.store.capabilities.memoryBoundBytes ?? 0) + 2 * s.partSize + 5;
        await writeFile(path, patternedBytes(size, 23));
        const controller = new AbortController();
        const upload = uploadLocalFile(s.store, path, key, {
          signal: controller.signal,
          onProgress: (bytes) => {
            if (bytes > s.partSize) controller.abort(new Error('test abort'));
          },
        });
        await expectCode(upload, 'ABORTED');
        await new Promise((resolve) => setTimeout(resolve, 50)); // a late 'error' event surfaces here
        expect(uncaught.map(String), 'uncaught exceptions').toEqual([]);
        expect((await readAll(await s.store.get(key))).toString()).toBe('the good copy');
        expect(await s.listPendingUploads()).toEqual([]);
      } finally {
        process.off('uncaughtException', onUncaught);
        await rm(dir, { recursive: true, force: true });
      }
    });
    contractCase('a mismatched checksum does not replace an existing object', async ({ store }) => {
      const key = freshKey('mismatch-keep');
      await store.put(key, Buffer.from('keep me'));
      const wrong = checksumBytes(Buffer.from('nope'));
      await expectCode(store.put(key, Buffer.from('replacement'), { checksums: wrong }), 'CHECKSUM_MISMATCH');
      expect((await readAll(await store.get(key))).toString()).toBe('keep me');
    });
  });
}

/** Hands over `bytes`, then hangs: no further chunk and no end, as a stuck producer would. */
async function* stallingBody(bytes: Buffer): AsyncGenerator<Buffer> {
  yield bytes;
  await new Promise(() => {});
}

/** Passes `source` through and aborts `controller` once `afterBytes` have gone by. */
function abortAfter(source: Readable, afterBytes: number, controller: AbortController): Readable {
  let seen = 0;
  return Readable.from(
    (async function* () {
      for await (const chunk of source) {
        seen += (chunk as Buffer).length;
        yield chunk as Buffer;
        if (seen >= afterBytes) {
          controller.abort(new Error('test abort'));
          // A breath for the store to react; a store that ignores the signal then receives
          // the whole body, completes the put and fails the case.
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    })(),
    { objectMode: false },
  );
}
