import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checksumBytes } from '@takhin/core';
import { FsColdStore } from '@takhin/backend-fs';
import { readAll } from '@takhin/testkit';

const ROUNDS = 200;

// Two writers in one folder, or on one key, at the same moment: what a broker archiving
// while its retention deletes (or two archivers racing) does to the store.
describe('fs: racing puts and deletes', () => {
  let base: string;
  let store: FsColdStore;
  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'takhin-fs-races-'));
    store = new FsColdStore({ root: join(base, 'root') });
  });
  afterAll(() => rm(base, { recursive: true, force: true }));

  it(`a put into a folder while a delete empties it lands (${ROUNDS} rounds)`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const folder = `orders-${round % 7}`;
      await store.put(`${folder}/old-${round}.log`, Buffer.from('old'));
      // The delete prunes the folder it empties; the put needs that same folder.
      const [deleted, put] = await Promise.allSettled([
        store.delete(`${folder}/old-${round}.log`),
        store.put(`${folder}/new-${round}.log`, Buffer.from(`new ${round}`)),
      ]);
      expect(deleted.status, `round ${round}: ${String((deleted as PromiseRejectedResult).reason)}`).toBe('fulfilled');
      expect(put.status, `round ${round}: ${String((put as PromiseRejectedResult).reason)}`).toBe('fulfilled');
      expect((await readAll(await store.get(`${folder}/new-${round}.log`))).toString()).toBe(`new ${round}`);
      await store.delete(`${folder}/new-${round}.log`);
    }
  });

  it(`concurrent overwrites of one key leave one writer's bytes with its checksums and metadata (8 writers, ${ROUNDS} rounds)`, async () => {
    const bodies = Array.from({ length: 8 }, (_, writer) => Buffer.from(`writer ${writer} `.repeat(100 + writer)));
    for (let round = 0; round < ROUNDS; round++) {
      const key = `overwrite/${round % 5}`;
      await Promise.all(bodies.map((body, writer) => store.put(key, body, { metadata: { writer: String(writer) } })));
      const head = await store.head(key);
      const bytes = await readAll(await store.get(key));
      const writer = bodies.findIndex((body) => body.equals(bytes));
      expect(writer, `round ${round}: the bytes are one writer's`).toBeGreaterThanOrEqual(0);
      expect(head?.checksums, `round ${round}: head's checksums`).toEqual(checksumBytes(bytes));
      expect(head?.metadata, `round ${round}: head's metadata`).toEqual({ writer: String(writer) });
    }
  });
});
