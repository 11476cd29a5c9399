import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checksumBytes, ColdStoreError } from '@takhin/core';
import { MiB, makeFifo, openFifoWriter, settleWithin, waitFor, writeRandomFile } from './fixtures/local-files.js';
import { DIR_STORE_MODULE, usePoolSuite } from './fixtures/pool-suite.js';

describe('TransferPool.uploadFile', () => {
  const suite = usePoolSuite('upload', { progressIntervalMs: 10 });

  it.each([
    ['empty', 0],
    ['small', 1000],
    ['multi-MiB', 5 * MiB + 3],
  ])('stores a %s file with both checksums and returns them', async (name, size) => {
    const path = join(suite.dir, name);
    const bytes = await writeRandomFile(path, size);
    const result = await suite.pool.uploadFile(path, `up/${name}`, suite.target, { metadata: { topic: 'orders' } });
    const expected = checksumBytes(bytes);
    expect(result).toMatchObject({ key: `up/${name}`, size, checksums: expected, metadata: { topic: 'orders' } });
    expect(await readFile(join(suite.objects, `o-${encodeURIComponent(`up/${name}`)}`))).toEqual(bytes);
  });

  it('reports progress on the main thread, ending with the size', async () => {
    const path = join(suite.dir, 'progress');
    await writeRandomFile(path, 16 * MiB);
    const seen: number[] = [];
    await suite.pool.uploadFile(path, 'up/progress', suite.target, { onProgress: (bytes) => seen.push(bytes) });
    expect(seen.at(-1)).toBe(16 * MiB);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
  });

  it('keeps error codes across the thread boundary', async () => {
    const path = join(suite.dir, 'twice');
    await writeRandomFile(path, 10);
    await suite.pool.uploadFile(path, 'up/twice', suite.target);
    const exists = await suite.pool.uploadFile(path, 'up/twice', suite.target, { ifNoneMatch: true }).catch((e: unknown) => e);
    expect(exists).toBeInstanceOf(ColdStoreError);
    expect(exists).toMatchObject({ code: 'ALREADY_EXISTS', backend: 'dir-fixture', key: 'up/twice' });
    await expect(suite.pool.uploadFile(path, '../escape', suite.target)).rejects.toMatchObject({ code: 'INVALID_KEY' });
    await expect(suite.pool.uploadFile(join(suite.dir, 'absent'), 'up/absent', suite.target)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('reports a target whose module has no provider, or whose config is refused', async () => {
    const notABackend = { module: new URL('./fixtures/local-files.ts', import.meta.url).href, config: {} };
    await expect(suite.pool.uploadFile(join(suite.dir, 'twice'), 'k', notABackend)).rejects.toThrow(/does not export a backend "provider"/);
    await expect(suite.pool.uploadFile(join(suite.dir, 'twice'), 'k', { module: DIR_STORE_MODULE, config: {} })).rejects.toThrow(/config.root/);
  });

  it('aborts an upload in the middle inside the worker and leaves no object', async () => {
    const fifo = makeFifo(join(suite.dir, 'endless'));
    const controller = new AbortController();
    let progressed = 0;
    const upload = suite.pool.uploadFile(fifo, 'up/aborted', suite.target, {
      signal: controller.signal,
      onProgress: (bytes) => (progressed = bytes),
    });
    const writer = await openFifoWriter(fifo);
    try {
      await writer.write(Buffer.alloc(2 * MiB, 7));
      await waitFor(() => progressed >= MiB);
      controller.abort();
      expect(await settleWithin(upload, 5_000)).toEqual({ settled: true }); // the local FIFO is read through the event loop: an abort closes it
    } finally {
      await writer.close(); // ends the worker's pending read whatever happened
    }
    await expect(upload).rejects.toMatchObject({ code: 'ABORTED', backend: 'dir-fixture', key: 'up/aborted' });
    const left = await readdir(suite.objects);
    expect(left.filter((name) => name.includes('aborted'))).toEqual([]);
    expect(await readdir(join(suite.objects, 'tmp'))).toEqual([]);
  });

  it('refuses an already-aborted signal before any work', async () => {
    await expect(suite.pool.uploadFile(join(suite.dir, 'twice'), 'up/x', suite.target, { signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'ABORTED',
    });
  });
});
