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

  it('reports a missing file as NOT_FOUND naming it', async () => {
    await expect(suite.pool.checksumFile(join(suite.dir, 'absent'))).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('absent') });
  });
});
