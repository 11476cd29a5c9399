import { mkdtemp, open, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransferPool } from '@takhin/core';
import { FsColdStore, provider } from '@takhin/backend-fs';
import { expectCode, patternedBytes } from '@takhin/testkit';

// Bit rot at rest: the object's bytes change on disk while the checksums recorded at put time
// stay. A restore that knows only what the store reports must still refuse the bytes.
describe('fs: an object corrupted at rest', () => {
  let work: string;
  let pool: TransferPool;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'takhin-bit-rot-'));
    pool = new TransferPool({ maxThreads: 1 });
  });
  afterAll(async () => {
    await pool.close();
    await rm(work, { recursive: true, force: true });
  });

  it('fails the download with CHECKSUM_MISMATCH and leaves the destination untouched', async () => {
    const root = join(work, 'cold');
    const store = new FsColdStore({ root });
    const key = 'orders-0/00000000000000000000.log';
    await store.put(key, patternedBytes(100_000, 21));

    // Rot changes the bytes, not the file's metadata: the modification time is put back.
    const { atime, mtime } = await stat(join(root, key));
    const file = await open(join(root, key), 'r+');
    const byte = Buffer.alloc(1);
    await file.read(byte, 0, 1, 50_000);
    byte[0]! ^= 0x01;
    await file.write(byte, 0, 1, 50_000);
    await file.close();
    await utimes(join(root, key), atime, mtime);

    const destination = join(work, 'segment.log');
    await writeFile(destination, 'the previous local copy');
    const error = await expectCode(pool.downloadFile(key, destination, { module: provider.module!, config: { root } }), 'CHECKSUM_MISMATCH');
    expect(error.message).toMatch(/crc32c|sha256/);
    // No temp file left beside the destination, and the destination as it was.
    expect((await readdir(work)).sort()).toEqual(['cold', 'segment.log']);
    expect(await readFile(destination, 'utf8')).toBe('the previous local copy');
  });
});
