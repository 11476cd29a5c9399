import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checksumBytes, type ColdStore } from '@takhin/core';
import { peakBufferGrowth } from '../bodies/memory-probe.js';
import { checksumStream, patternedBytes, patternedChecksums, patternedStream, readAll } from '../bodies/patterned-body.js';
import { collect, expectCode, runConcurrently } from './assertions.js';
import { defineFailedPutCases } from './failed-put-cases.js';
import { defineKeyCases } from './key-cases.js';
import { defineReadIntoCases } from './read-into-cases.js';
import { definePoolCases } from './pool-cases.js';
import { resolveSubject, type ContractCase, type ContractOverrides, type ContractSubjectFactory, type ResolvedContractSubject } from './subject.js';

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
    const contractCase: ContractCase = (caseName, body) => {
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
      contractCase('list of a prefix with no objects is empty', async ({ store }) => {
        expect(await collect(store.list('list-nothing-here/'))).toEqual([]);
      });
      contractCase('list: a pageSize that is not a positive integer is INVALID_RANGE before any request; 1 and a huge one list everything', async ({ store }) => {
        const keys = ['list-page-size/a', 'list-page-size/b', 'list-page-size/c'];
        await runConcurrently(keys, 3, (k) => store.put(k, Buffer.from('x')));
        // Before: S3 listed nothing for 0, Azure one object for 1.5, the others failed with the server's 400.
        for (const pageSize of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '7' as unknown as number]) {
          const error = await expectCode(collect(store.list('list-page-size/', { pageSize })), 'INVALID_RANGE');
          expect(error.message).toContain(`pageSize must be a positive integer, got ${String(pageSize)}`);
        }
        for (const pageSize of [1, 2 ** 31]) expect((await collect(store.list('list-page-size/', { pageSize }))).map((o) => o.key).sort()).toEqual(keys);
      });
    });

    defineKeyCases(contractCase);
    defineFailedPutCases(contractCase, freshKey);
    defineReadIntoCases(contractCase, freshKey);

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
  'list: a pageSize that is not a positive integer is INVALID_RANGE before any request; 1 and a huge one list everything',
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
  'readInto: present exactly where the backend reads into a sink',
  'readInto: whole objects and ranges, byte for byte, one request each',
  'readInto: a missing key is NOT_FOUND, a range past the end INVALID_RANGE, a bad range refused before any request',
  'readInto: a failing sink ends the read with its own error, and the store reads on',
  'readInto: an abort in the middle is ABORTED, and an unreachable server UNAVAILABLE',
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
