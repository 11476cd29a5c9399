import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checksumBytes, checksumLocalFile } from '@takhin/core';
import { MiB, writeRandomFile } from './fixtures/local-files.js';
import { usePoolSuite } from './fixtures/pool-suite.js';

describe('TransferPool.checksumFile', () => {
  const suite = usePoolSuite('checksum');

  it.each([
    ['empty', 0],
    ['one byte', 1],
    ['a few MiB plus a tail', 3 * MiB + 17],
  ])('returns the size and both digests of a %s file', async (_name, size) => {
    const path = join(suite.dir, `file-${size}`);
    const bytes = await writeRandomFile(path, size);
    expect(await suite.pool.checksumFile(path)).toEqual({ size, ...checksumBytes(bytes) });
  });

  it('agrees with the one-thread checksumLocalFile on many files at once', async () => {
    const paths = await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        const path = join(suite.dir, `many-${i}`);
        await writeRandomFile(path, 64 * 1024 * (i + 1));
        return path;
      }),
    );
    const pooled = await Promise.all(paths.map((path) => suite.pool.checksumFile(path)));
    const local = await Promise.all(paths.map((path) => checksumLocalFile(path)));
    expect(pooled).toEqual(local);
  });

  it('reports progress, ending with the file size', async () => {
    const path = join(suite.dir, 'progress');
    await writeRandomFile(path, 8 * MiB);
    const seen: number[] = [];
    await suite.pool.checksumFile(path, { onProgress: (bytes) => seen.push(bytes) });
    expect(seen.at(-1)).toBe(8 * MiB);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
  });

  it('refuses a chunkSize that is no size, naming the option, before any worker reads the file', async () => {
    const path = join(suite.dir, 'chunked');
    await writeRandomFile(path, 10);
    for (const chunkSize of [0, -1, 2.5]) {
      await expect(suite.pool.checksumFile(path, { chunkSize })).rejects.toThrow(new RangeError(`chunkSize must be a positive integer, got ${chunkSize}`));
    }
  });

  it('reports a missing file as NOT_FOUND naming it', async () => {
    await expect(suite.pool.checksumFile(join(suite.dir, 'absent'))).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('absent') });
  });
});

// The pool's threads read on the thread that hashes (readOnThisThread); these pin down what that
// path must keep from the libuv one: the same digests, turns of the event loop for aborts and
// progress, and the end-of-read check that the file is still the one opened.
describe('checksumLocalFile reading on this thread', () => {
  const suite = usePoolSuite('checksum-sync');

  it.each([
    ['empty', 0],
    ['one read and a tail', MiB + 5],
    ['more than one turn of the event loop', 40 * MiB + 3],
  ])('gives the digests the libuv reads give, for a %s file', async (_name, size) => {
    const path = join(suite.dir, `sync-${size}`);
    const bytes = await writeRandomFile(path, size);
    const onThisThread = await checksumLocalFile(path, { readOnThisThread: true, chunkSize: MiB });
    expect(onThisThread).toEqual(await checksumLocalFile(path, { chunkSize: MiB }));
    expect(onThisThread).toMatchObject({ size, ...checksumBytes(bytes) });
  });

  it('yields to the event loop between reads, so an abort stops it mid-file', async () => {
    const path = join(suite.dir, 'sync-abort');
    await writeRandomFile(path, 64 * MiB);
    const controller = new AbortController();
    const seen: number[] = [];
    const checksum = checksumLocalFile(path, {
      readOnThisThread: true,
      signal: controller.signal,
      onProgress: (bytes) => {
        seen.push(bytes);
        controller.abort();
      },
    });
    await expect(checksum).rejects.toMatchObject({ code: 'ABORTED' });
    expect(seen).toEqual([16 * MiB]);
  });

  it('fails, naming the file, when the file grows while it is read', async () => {
    const path = join(suite.dir, 'sync-grows');
    await writeRandomFile(path, 20 * MiB);
    const checksum = checksumLocalFile(path, { readOnThisThread: true, onProgress: () => appendFileSync(path, 'x') });
    await expect(checksum).rejects.toMatchObject({ code: 'CHECKSUM_MISMATCH', message: expect.stringContaining('changed while being read') });
  });
});
