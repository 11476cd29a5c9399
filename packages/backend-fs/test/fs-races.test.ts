import { describe, expect, it } from 'vitest';
import { checksumBytes } from '@takhin/core';
import { readAll } from '@takhin/testkit';
import { useTempStore } from './fixtures/temp-store.js';

const ROUNDS = 200;

// Two writers in one folder, or on one key, at the same moment: what a broker archiving
// while its retention deletes (or two archivers racing) does to the store.
describe('fs: racing puts and deletes', () => {
  const temp = useTempStore('fs-races');

  it(`a put into a folder while a delete empties it lands (${ROUNDS} rounds)`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const folder = `orders-${round % 7}`;
      await temp.store.put(`${folder}/old-${round}.log`, Buffer.from('old'));
      // The delete prunes the folder it empties; the put needs that same folder.
      const [deleted, put] = await Promise.allSettled([
        temp.store.delete(`${folder}/old-${round}.log`),
        temp.store.put(`${folder}/new-${round}.log`, Buffer.from(`new ${round}`)),
      ]);
      expect(deleted.status, `round ${round}: ${String((deleted as PromiseRejectedResult).reason)}`).toBe('fulfilled');
      expect(put.status, `round ${round}: ${String((put as PromiseRejectedResult).reason)}`).toBe('fulfilled');
      expect((await readAll(await temp.store.get(`${folder}/new-${round}.log`))).toString()).toBe(`new ${round}`);
      await temp.store.delete(`${folder}/new-${round}.log`);
    }
  });

  it(`concurrent overwrites of one key leave one writer's bytes with its checksums and metadata (8 writers, ${ROUNDS} rounds)`, async () => {
    const bodies = Array.from({ length: 8 }, (_, writer) => Buffer.from(`writer ${writer} `.repeat(100 + writer)));
    for (let round = 0; round < ROUNDS; round++) {
      const key = `overwrite/${round % 5}`;
      await Promise.all(bodies.map((body, writer) => temp.store.put(key, body, { metadata: { writer: String(writer) } })));
      const head = await temp.store.head(key);
      const bytes = await readAll(await temp.store.get(key));
      const writer = bodies.findIndex((body) => body.equals(bytes));
      expect(writer, `round ${round}: the bytes are one writer's`).toBeGreaterThanOrEqual(0);
      expect(head?.checksums, `round ${round}: head's checksums`).toEqual(checksumBytes(bytes));
      expect(head?.metadata, `round ${round}: head's metadata`).toEqual({ writer: String(writer) });
    }
  });
});
