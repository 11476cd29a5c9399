import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { checksumBytes, type ColdStore } from '@takhin/core';
import { peakBufferGrowth } from '../bodies/memory-probe.js';
import { checksumStream, patternedBytes, patternedChecksums, patternedStream, readAll } from '../bodies/patterned-body.js';
import { collect, expectCode } from './assertions.js';
import { definePoolCases } from './pool-cases.js';
import { resolveSubject, type ContractOverrides, type ContractSubjectFactory, type ResolvedContractSubject } from './subject.js';

const MiB = 1024 * 1024;

/** Every key the suite writes lives under this run's own folder, so suites never collide. */
let runCounter = 0;

/**
 * The ColdStore contract: one vitest suite every backend must pass against a real server
 * (docs/ARCHITECTURE.md, "The ColdStore contract"). `factory` builds the subject once per suite; `overrides` replace single cases
 * for a backend that differs, each with its reason, and the replacement still runs.
 */
export function describeColdStoreContract(name: string, factory: ContractSubjectFactory, overrides: ContractOverrides = {}): void {
  describe(`ColdStore contract: ${name}`, () => {
    let subject: ResolvedContractSubject;
    const prefix = `contract-${name}-${process.pid}-${Date.now().toString(36)}-${runCounter++}`;
    let keyCounter = 0;
    /** A fresh key for one case; `folder` groups keys a case lists. */
    const freshKey = (label: string) => `cases/${String(keyCounter++).padStart(4, '0')}-${label}`;

    beforeAll(async () => {
      subject = resolveSubject(await factory({ prefix }));
    });
    afterAll(async () => {
      await subject?.cleanup?.();
    });

    const unknownOverrides = Object.keys(overrides).filter((c) => !CASE_NAMES.has(c));
    if (unknownOverrides.length > 0) throw new Error(`overrides name unknown contract cases: ${unknownOverrides.join(', ')}`);

    /** Registers one case, or its override (named with its reason). */
    const contractCase = (caseName: string, body: (s: ResolvedContractSubject) => Promise<void>) => {
      const override = overrides[caseName];
      if (override) it(`${caseName} [override: ${override.reason}]`, () => override.test(subject));
      else it(caseName, () => body(subject));
    };

    describe('round trips', () => {
      for (const size of [0, 1, MiB]) {
        contractCase(`round trip ${size} B`, async ({ store }) => {
          await expectRoundTrip(store, freshKey(`rt-${size}`), size);
        });
      }

      contractCase('round trip 64 MiB streamed within the memory bound', async (s) => {
        const size = 64 * MiB;
        expect(s.memoryBoundBytes, 'a memory bound at or above the object size proves nothing').toBeLessThan(size - 16 * MiB);
        const key = freshKey('rt-64mib');
        const { result: put, peakGrowthBytes } = await peakBufferGrowth(() => s.store.put(key, patternedStream(size, 64), { size }));
        const expected = patternedChecksums(size, 64);
        expect(put.size).toBe(size);
        expect(put.checksums).toMatchObject(expected);
        // Slack covers the SDK's own buffers and the sampler's timing.
        expect(peakGrowthBytes, `peak buffer growth ${(peakGrowthBytes / MiB).toFixed(1)} MiB`).toBeLessThan(s.memoryBoundBytes + 16 * MiB);
        const got = await checksumStream(await s.store.get(key));
        expect(got).toEqual({ size, checksums: expected });
        expect((await s.store.head(key))?.checksums.crc32c).toBe(expected.crc32c);
        await s.store.delete(key);
      });

      contractCase('sizes on both sides of part boundaries', async (s) => {
        for (const size of [s.partSize - 1, s.partSize, s.partSize + 1, 2 * s.partSize + 1]) {
          await expectRoundTrip(s.store, freshKey(`part-${size}`), size, { stream: true });
        }
      });

      contractCase('every byte value survives', async ({ store }) => {
        const bytes = Buffer.alloc(256 * 4);
        for (let i = 0; i < bytes.length; i++) bytes[i] = i % 256;
        const key = freshKey('bytes');
        await store.put(key, bytes);
        expect(Buffer.compare(await readAll(await store.get(key)), bytes)).toBe(0);
      });

      contractCase('a body given as an async iterable', async ({ store }) => {
        const key = freshKey('iterable');
        async function* parts() {
          yield new Uint8Array([1, 2, 3]);
          yield new Uint8Array([4, 5]);
        }
        const put = await store.put(key, parts());
        expect(put.size).toBe(5);
        expect([...(await readAll(await store.get(key)))]).toEqual([1, 2, 3, 4, 5]);
      });
    });

    describe('descriptions and metadata', () => {
      contractCase('put resolves to the stored description with both checksums', async ({ store }) => {
        const key = freshKey('describe');
        const bytes = patternedBytes(3000, 7);
        const put = await store.put(key, bytes);
        expect(put).toMatchObject({ key, size: 3000, checksums: checksumBytes(bytes) });
      });

      contractCase('head describes the object with its CRC32C and user metadata', async ({ store }) => {
        const key = freshKey('head');
        const bytes = patternedBytes(4096, 8);
        const expected = checksumBytes(bytes);
        await store.put(key, bytes, { metadata: { topic: 'orders', 'base-offset': '00000000000000000042' } });
        const head = await store.head(key);
        expect(head).not.toBeNull();
        expect(head!.key).toBe(key);
        expect(head!.size).toBe(4096);
        expect(head!.checksums.crc32c).toBe(expected.crc32c);
        if (store.capabilities.sha256OnHead || head!.checksums.sha256 !== undefined) expect(head!.checksums.sha256).toBe(expected.sha256);
        expect(head!.metadata).toEqual({ topic: 'orders', 'base-offset': '00000000000000000042' });
      });

      contractCase('declared checksums are kept and reported by head', async ({ store }) => {
        const key = freshKey('declared');
        const size = 2 * MiB + 3;
        const expected = patternedChecksums(size, 9);
        const put = await store.put(key, patternedStream(size, 9), { size, checksums: expected });
        expect(put.checksums).toMatchObject(expected);
        expect((await store.head(key))!.checksums).toMatchObject(expected);
      });

      contractCase('onProgress reports the bytes sent', async ({ store }) => {
        const key = freshKey('progress');
        const seen: number[] = [];
        await store.put(key, patternedStream(MiB + 5, 10), { size: MiB + 5, onProgress: (n) => seen.push(n) });
        expect(seen.length).toBeGreaterThan(0);
        expect(seen.at(-1)).toBe(MiB + 5);
        expect([...seen].sort((a, b) => a - b)).toEqual(seen);
      });

      contractCase('invalid user metadata is refused before anything is stored', async ({ store }) => {
        const key = freshKey('bad-meta');
        await expect(store.put(key, Buffer.from('x'), { metadata: { 'Bad Key!': 'v' } })).rejects.toThrow(/metadata key/);
        expect(await store.head(key)).toBeNull();
      });
    });

    describe('ranges', () => {
      const size = 10_000;
      const bytes = patternedBytes(size, 11);
      let key: string;
      beforeAll(async () => {
        key = freshKey('ranges');
        await subject.store.put(key, bytes);
      });
      const slice = async (store: ColdStore, offset: number, length?: number) =>
        readAll(await store.get(key, { range: length === undefined ? { offset } : { offset, length } }));

      contractCase('range: the first byte', async ({ store }) => {
        expect([...(await slice(store, 0, 1))]).toEqual([bytes[0]]);
      });
      contractCase('range: the last byte', async ({ store }) => {
        expect([...(await slice(store, size - 1, 1))]).toEqual([bytes[size - 1]]);
      });
      contractCase('range: the middle', async ({ store }) => {
        expect(Buffer.compare(await slice(store, 1234, 4321), bytes.subarray(1234, 1234 + 4321))).toBe(0);
      });
      contractCase('range: open-ended runs to the end', async ({ store }) => {
        expect(Buffer.compare(await slice(store, 9000), bytes.subarray(9000))).toBe(0);
      });
      contractCase('range: running past the end is truncated', async ({ store }) => {
        expect(Buffer.compare(await slice(store, 9990, 500), bytes.subarray(9990))).toBe(0);
      });
      contractCase('range: starting past the end is INVALID_RANGE', async ({ store }) => {
        await expectCode(store.get(key, { range: { offset: size } }), 'INVALID_RANGE');
        await expectCode(store.get(key, { range: { offset: size + 100, length: 5 } }), 'INVALID_RANGE');
      });
      contractCase('range: negative or empty ranges are INVALID_RANGE', async ({ store }) => {
        await expectCode(store.get(key, { range: { offset: -1 } }), 'INVALID_RANGE');
        await expectCode(store.get(key, { range: { offset: 0, length: 0 } }), 'INVALID_RANGE');
      });
      contractCase('range: any range of an empty object is INVALID_RANGE', async ({ store }) => {
        const empty = freshKey('empty-range');
        await store.put(empty, Buffer.alloc(0));
        await expectCode(store.get(empty, { range: { offset: 0 } }), 'INVALID_RANGE');
      });
    });

    describe('missing objects, replacement and ifNoneMatch', () => {
      contractCase('head of a missing key is null', async ({ store }) => {
        expect(await store.head(freshKey('missing'))).toBeNull();
      });
      contractCase('get of a missing key is NOT_FOUND', async ({ store }) => {
        const key = freshKey('missing');
        const error = await expectCode(store.get(key), 'NOT_FOUND');
        expect(error.key).toBe(key);
        expect(error.backend).toBe(store.backend);
        expect(error.retryable).toBe(false);
      });
      contractCase('a second put replaces the first', async ({ store }) => {
        const key = freshKey('replace');
        await store.put(key, Buffer.from('first version, longer'));
        const second = await store.put(key, Buffer.from('second'));
        expect((await readAll(await store.get(key))).toString()).toBe('second');
        expect((await store.head(key))!.size).toBe(6);
        expect(second.checksums.crc32c).toBe(checksumBytes(Buffer.from('second')).crc32c);
      });
      contractCase('ifNoneMatch creates a new object', async ({ store }) => {
        const key = freshKey('inm-new');
        await store.put(key, Buffer.from('created'), { ifNoneMatch: true });
        expect((await readAll(await store.get(key))).toString()).toBe('created');
      });
      contractCase('ifNoneMatch on an existing key is ALREADY_EXISTS and keeps the original', async ({ store }) => {
        const key = freshKey('inm-existing');
        await store.put(key, Buffer.from('original'));
        await expectCode(store.put(key, Buffer.from('intruder'), { ifNoneMatch: true }), 'ALREADY_EXISTS');
        expect((await readAll(await store.get(key))).toString()).toBe('original');
        // Learnt by now (a probe at first use, where the server must be asked), and reported.
        expect(['server', 'head-check']).toContain(store.capabilities.conditionalWrites);
      });
      contractCase('ifNoneMatch on a multipart-sized body is ALREADY_EXISTS and keeps the original', async (s) => {
        const key = freshKey('inm-large');
        await s.store.put(key, Buffer.from('original'));
        const size = 2 * s.partSize + 1;
        await expectCode(s.store.put(key, patternedStream(size, 12), { size, ifNoneMatch: true }), 'ALREADY_EXISTS');
        expect((await readAll(await s.store.get(key))).toString()).toBe('original');
        expect(await s.listPendingUploads()).toEqual([]);
      });
    });

    describe('delete', () => {
      contractCase('delete is idempotent', async ({ store }) => {
        const key = freshKey('delete');
        await store.put(key, Buffer.from('bye'));
        await store.delete(key);
        expect(await store.head(key)).toBeNull();
        await store.delete(key);
        await store.delete(freshKey('never-existed'));
      });
      contractCase('batch delete of over 1000 keys, missing ones included', async ({ store }) => {
        const keys = Array.from({ length: 1100 }, (_, i) => `batch-delete/${String(i).padStart(5, '0')}`);
        await runConcurrently(keys, 32, (key) => store.put(key, Buffer.from(key)));
        await store.delete([...keys, 'batch-delete/missing-1', 'batch-delete/missing-2']);
        expect(await collect(store.list('batch-delete/'))).toEqual([]);
      });
    });

    describe('list', () => {
      contractCase('list by prefix paginates and returns every object once', async ({ store }) => {
        const keys = Array.from({ length: 25 }, (_, i) => `list-pages/obj-${String(i).padStart(3, '0')}`);
        await runConcurrently(keys, 8, (key) => store.put(key, Buffer.from(key)));
        const listed = await collect(store.list('list-pages/', { pageSize: 7 }));
        expect(listed.map((o) => o.key).sort()).toEqual(keys);
        expect(listed.every((o) => o.size === Buffer.byteLength(o.key))).toBe(true);
      });
      contractCase('list matches a partial name, not only folders', async ({ store }) => {
        await runConcurrently(['list-partial/abc', 'list-partial/abd', 'list-partial/b/abc'], 3, (k) => store.put(k, Buffer.from('x')));
        const listed = await collect(store.list('list-partial/ab'));
        expect(listed.map((o) => o.key).sort()).toEqual(['list-partial/abc', 'list-partial/abd']);
      });
      contractCase('list handles unicode and deep keys', async ({ store }) => {
        const keys = ['list-unicode/ünïcødé/ключ/日本語.log', 'list-unicode/emoji-🚀/x', `list-unicode/${'deep/'.repeat(20)}leaf`];
        await runConcurrently(keys, 3, (key) => store.put(key, Buffer.from('u')));
        expect((await collect(store.list('list-unicode/'))).map((o) => o.key).sort()).toEqual([...keys].sort());
        for (const key of keys) expect((await store.head(key))?.key).toBe(key);
      });
      contractCase('awkward keys round-trip: listed exactly as put, got and deleted by their listed names', async ({ store }) => {
        const keys = AWKWARD_KEYS.map((name) => `awkward/${name}`);
        await runConcurrently(keys, 8, (key) => store.put(key, Buffer.from(key)));
        const listed = (await collect(store.list('awkward/'))).map((o) => o.key);
        expect(new Set(listed)).toEqual(new Set(keys));
        for (const key of listed) expect((await readAll(await store.get(key))).toString(), JSON.stringify(key)).toBe(key);
        await store.delete(listed);
        expect(await collect(store.list('awkward/'))).toEqual([]);
      });
      contractCase('list of a prefix with no objects is empty', async ({ store }) => {
        expect(await collect(store.list('list-nothing-here/'))).toEqual([]);
      });
    });

    describe('invalid keys', () => {
      const invalid = ['', '/absolute', 'a/../b', '..', '../escape', 'a//b', 'a/', 'a/./b', 'ctrl\u0001char', 'new\nline', 'back\\slash', 'x'.repeat(2000)];
      contractCase('invalid keys are INVALID_KEY before any request', async (s) => {
        // The unreachable store would answer UNAVAILABLE to any request it made.
        for (const store of [s.store, s.createUnreachableStore()]) {
          for (const key of invalid) {
            await expectCode(store.put(key, Buffer.from('x')), 'INVALID_KEY');
            await expectCode(store.get(key), 'INVALID_KEY');
            await expectCode(store.head(key), 'INVALID_KEY');
            await expectCode(store.delete(key), 'INVALID_KEY');
            await expectCode(store.delete(['fine-key', key]), 'INVALID_KEY');
          }
          await expectCode(collect(store.list('../')), 'INVALID_KEY');
          await expectCode(collect(store.list('/abs')), 'INVALID_KEY');
        }
      });
      contractCase('noncharacters are INVALID_KEY, naming the code point', async ({ store }) => {
        for (const [key, codePoint] of [
          ['nonchar/\ufffe', 'U+FFFE'],
          ['nonchar/\uffff', 'U+FFFF'],
          ['nonchar/\ufdd0', 'U+FDD0'],
          ['nonchar/\u{1fffe}', 'U+1FFFE'],
        ] as const) {
          const error = await expectCode(store.put(key, Buffer.from('x')), 'INVALID_KEY');
          expect(error.message).toContain(codePoint);
          await expectCode(store.head(key), 'INVALID_KEY');
        }
      });
      contractCase('a key segment over 255 bytes is INVALID_KEY before any request', async (s) => {
        // Filesystem-backed servers (MinIO, fake-gcs-server, the FS backend) keep each segment
        // as a file name; one rule for every backend keeps keys portable between them.
        const key = `long-segment/${'s'.repeat(256)}`;
        for (const store of [s.store, s.createUnreachableStore()]) {
          const error = await expectCode(store.put(key, Buffer.from('long')), 'INVALID_KEY');
          expect(error.message).toContain('255');
          expect(error.retryable).toBe(false);
        }
        // 200, not 255: fake-gcs-server keeps a temp file named ".<segment><19 digits>" beside it.
        const fits = `long-segment/${'s'.repeat(200)}`;
        await s.store.put(fits, Buffer.from('fits'));
        expect((await readAll(await s.store.get(fits))).toString()).toBe('fits');
        await s.store.delete(fits);
      });
      contractCase('an unreachable server is UNAVAILABLE and retryable', async (s) => {
        const store = s.createUnreachableStore();
        const error = await expectCode(store.get('some/key'), 'UNAVAILABLE');
        expect(error.retryable).toBe(true);
        await expectCode(store.put('some/key', Buffer.from('x')), 'UNAVAILABLE');
        await store.close();
      });
    });

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
      contractCase('a mismatched checksum does not replace an existing object', async ({ store }) => {
        const key = freshKey('mismatch-keep');
        await store.put(key, Buffer.from('keep me'));
        const wrong = checksumBytes(Buffer.from('nope'));
        await expectCode(store.put(key, Buffer.from('replacement'), { checksums: wrong }), 'CHECKSUM_MISMATCH');
        expect((await readAll(await store.get(key))).toString()).toBe('keep me');
      });
    });

    // The same backend built inside TransferPool workers from `subject.target`.
    definePoolCases(() => subject);

    describe('concurrency', () => {
      contractCase('32 concurrent puts to distinct keys all land', async ({ store }) => {
        const items = Array.from({ length: 32 }, (_, i) => ({ key: `concurrent/${i}`, bytes: randomBytes(64 * 1024 + i) }));
        await Promise.all(items.map(({ key, bytes }) => store.put(key, bytes)));
        for (const { key, bytes } of items) {
          const got = await checksumStream(await store.get(key));
          expect(got).toEqual({ size: bytes.length, checksums: checksumBytes(bytes) });
        }
      });
    });
  });
}

/** Every case name, so a mistyped override fails loudly instead of silently not applying. */
const CASE_NAMES = new Set([
  'round trip 0 B',
  'round trip 1 B',
  `round trip ${MiB} B`,
  'round trip 64 MiB streamed within the memory bound',
  'sizes on both sides of part boundaries',
  'every byte value survives',
  'a body given as an async iterable',
  'put resolves to the stored description with both checksums',
  'head describes the object with its CRC32C and user metadata',
  'declared checksums are kept and reported by head',
  'onProgress reports the bytes sent',
  'invalid user metadata is refused before anything is stored',
  'range: the first byte',
  'range: the last byte',
  'range: the middle',
  'range: open-ended runs to the end',
  'range: running past the end is truncated',
  'range: starting past the end is INVALID_RANGE',
  'range: negative or empty ranges are INVALID_RANGE',
  'range: any range of an empty object is INVALID_RANGE',
  'head of a missing key is null',
  'get of a missing key is NOT_FOUND',
  'a second put replaces the first',
  'ifNoneMatch creates a new object',
  'ifNoneMatch on an existing key is ALREADY_EXISTS and keeps the original',
  'ifNoneMatch on a multipart-sized body is ALREADY_EXISTS and keeps the original',
  'delete is idempotent',
  'batch delete of over 1000 keys, missing ones included',
  'list by prefix paginates and returns every object once',
  'list matches a partial name, not only folders',
  'list handles unicode and deep keys',
  'list of a prefix with no objects is empty',
  'invalid keys are INVALID_KEY before any request',
  'an unreachable server is UNAVAILABLE and retryable',
  'an abort in the middle of a put leaves nothing visible',
  'an abort while the body has stalled is ABORTED at once and leaves nothing',
  'an already aborted signal is ABORTED before any request',
  'a declared checksum that does not match is CHECKSUM_MISMATCH and leaves nothing',
  'a mismatched checksum does not replace an existing object',
  'a body shorter or longer than its declared size is refused, and the stored copy stays',
  'an abort storm: a put that reports ABORTED stored nothing, one that succeeded is whole, no upload stays open',
  'noncharacters are INVALID_KEY, naming the code point',
  'a key segment over 255 bytes is INVALID_KEY before any request',
  'awkward keys round-trip: listed exactly as put, got and deleted by their listed names',
  '32 concurrent puts to distinct keys all land',
]);

/** The names of the contract's cases, for backends that document their overrides. */
export const CONTRACT_CASE_NAMES: ReadonlySet<string> = CASE_NAMES;

async function expectRoundTrip(store: ColdStore, key: string, size: number, options: { stream?: boolean } = {}): Promise<void> {
  const expected = patternedChecksums(size, size + 1);
  const body = options.stream ? patternedStream(size, size + 1) : patternedBytes(size, size + 1);
  const put = await store.put(key, body, { size });
  expect(put.size).toBe(size);
  expect(put.checksums).toMatchObject(expected);
  expect(await checksumStream(await store.get(key))).toEqual({ size, checksums: expected });
  // The whole object's CRC32C is recorded however it was uploaded (single or multipart).
  const head = await store.head(key);
  expect(head?.size).toBe(size);
  expect(head?.checksums.crc32c).toBe(expected.crc32c);
  if (store.capabilities.sha256OnHead) expect(head?.checksums.sha256).toBe(expected.sha256);
}

/**
 * Names that are valid keys but trip servers up: URL-special and XML-special characters,
 * Unicode normal forms, invisible and astral code points, dots and spaces at segment ends.
 */
const AWKWARD_KEYS = [
  'space in name',
  'plus+sign',
  'percent%20encoded',
  'question?mark',
  'hash#tag',
  'amp&ersand=equals',
  'angle<brackets>',
  `quotes"and'apostrophes`,
  'semi;colon:comma,',
  'brackets[]{}()',
  'asterisk*caret^tilde~',
  'dollar$at@bang!',
  'nfc-\u00e9',
  'nfd-e\u0301',
  'emoji-\u{1f680}',
  'astral-\u{1d11e}',
  'zero\u200bwidth',
  'rtl\u202emark',
  'nbsp\u00a0here',
  'bom\ufeff',
  'ideographic\u3000space',
  'replacement-\ufffd',
  'private-use-\ue000',
  'trailing-dot.',
  'trailing-space ',
  '..leading-dots',
  'deep/nested/awkward name+%',
];

/** A small deterministic PRNG (mulberry32), so a failing storm can be told by its seed. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function runConcurrently<T>(items: readonly T[], limit: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(lanes);
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
