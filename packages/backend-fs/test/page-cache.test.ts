import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { checksumBytes, downloadToLocalFile } from '@takhin/core';
import { FS_WRITE_BUFFER_BYTES, FsDriver } from '@takhin/backend-fs';
import { patternedBytes, readAll } from '@takhin/testkit';
import { useTempStore } from './fixtures/temp-store.js';

const MiB = 1024 * 1024;

/** Bytes of each file in the page cache, from fincore(1). */
async function cachedBytes(...paths: string[]): Promise<number[]> {
  const { stdout } = await promisify(execFile)('fincore', ['--bytes', '--noheadings', '--raw', '--output', 'RES', ...paths]);
  return stdout.trim().split('\n').map(Number);
}

// The fs backend writes multipart objects, and reads objects into a download's aligned batch
// buffers, with O_DIRECT: archiving or restoring a segment fills no page cache on either side.
describe('fs: objects past the page cache', () => {
  const temp = useTempStore('page-cache');

  it('writes a multipart object without caching it, exact to the byte whatever its size', async () => {
    const sizes = [MiB + 1, 3 * MiB, 5 * MiB - 4095];
    const objects = sizes.map((size, i) => patternedBytes(size, 40 + i));
    for (const [i, bytes] of objects.entries()) await temp.store.put(`direct/w-${i}`, bytes);
    expect(await cachedBytes(...sizes.map((_, i) => join(temp.root, `direct/w-${i}`)))).toEqual(sizes.map(() => 0));
    for (const [i, bytes] of objects.entries()) {
      expect((await temp.store.head(`direct/w-${i}`))?.size).toBe(bytes.length);
      expect(await readAll(await temp.store.get(`direct/w-${i}`))).toEqual(bytes);
    }
  });

  it('restores an object and a range starting on a block without caching the object, verified', async () => {
    const bytes = patternedBytes(6 * MiB + 123, 50);
    await temp.store.put('direct/r', bytes);
    const object = join(temp.root, 'direct/r');
    const whole = join(temp.work, 'whole');
    const ranged = join(temp.work, 'ranged');
    const slice = bytes.subarray(2 * 4096, 2 * 4096 + 5000);
    await downloadToLocalFile(temp.store, 'direct/r', whole, { expected: checksumBytes(bytes) });
    await downloadToLocalFile(temp.store, 'direct/r', ranged, { range: { offset: 2 * 4096, length: 5000 }, expected: checksumBytes(slice) });
    expect(await cachedBytes(object, whole, ranged)).toEqual([0, 0, 0]);
    expect(await readFile(whole)).toEqual(bytes);
    expect(await readFile(ranged)).toEqual(slice);
  });
});

// A read's buffer is as large as the stream's high-water mark: a 1 MiB buffer for each small
// object (a manifest) read was external memory V8 answered with a major GC every few reads.
describe('fs: memory of small reads', () => {
  const temp = useTempStore('small-reads');

  it('reads a small object (or a small range) with buffers its own size, not 1 MiB ones', async () => {
    const driver = new FsDriver({ root: temp.root });
    const bytes = patternedBytes(1000, 61);
    await temp.store.put('small/object', bytes);
    const whole = await driver.getObject({ key: 'small/object', name: 'small/object' });
    const range = await driver.getObject({ key: 'small/object', name: 'small/object', range: { offset: 10, length: 20 } });
    expect([whole.body.readableHighWaterMark, range.body.readableHighWaterMark]).toEqual([1000, 20]);
    expect(await readAll(whole.body)).toEqual(bytes);
    expect(await readAll(range.body)).toEqual(bytes.subarray(10, 30));
    await temp.store.put('big/object', patternedBytes(2 * MiB, 62));
    const big = await driver.getObject({ key: 'big/object', name: 'big/object' });
    expect(big.body.readableHighWaterMark).toBe(FS_WRITE_BUFFER_BYTES);
    big.body.destroy();
  });
});
