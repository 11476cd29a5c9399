import { describe, expect } from 'vitest';
import { readAll } from '../bodies/patterned-body.js';
import { collect, expectCode, runConcurrently } from './assertions.js';
import type { ContractCase } from './subject.js';

/**
 * The contract's key cases: what the key rules refuse (before any request, naming why) and
 * awkward names that must round-trip exactly through put, list, get and delete. Registered
 * inside `describeColdStoreContract`'s describe.
 */
export function defineKeyCases(contractCase: ContractCase): void {
  describe('keys', () => {
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
    contractCase('awkward keys round-trip: listed exactly as put, got and deleted by their listed names', async ({ store }) => {
      const keys = AWKWARD_KEYS.map((name) => `awkward/${name}`);
      await runConcurrently(keys, 8, (key) => store.put(key, Buffer.from(key)));
      const listed = (await collect(store.list('awkward/'))).map((o) => o.key);
      expect(new Set(listed)).toEqual(new Set(keys));
      for (const key of listed) expect((await readAll(await store.get(key))).toString(), JSON.stringify(key)).toBe(key);
      await store.delete(listed);
      expect(await collect(store.list('awkward/'))).toEqual([]);
    });
  });
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
