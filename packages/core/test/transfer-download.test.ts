import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { checksumBytes, ColdStoreError, createColdStore, downloadToLocalFile, RANGED_DOWNLOAD_FROM, TransferPool, type Checksums, type ColdStore } from '@takhin/core';
import { cachedBytes, MiB, makeFifo, openFifoWriter, settleWithin, waitFor, writeRandomFile } from './fixtures/local-files.js';
import { usePoolSuite } from './fixtures/pool-suite.js';

describe('TransferPool.downloadFile', () => {
  const suite = usePoolSuite('download', { progressIntervalMs: 10 });
  /** The same backend on this thread, to put and corrupt objects directly. */
  let store: ColdStore;
  beforeAll(async () => {
    store = await createColdStore(suite.target);
  });
  afterAll(() => store.close());

  /** Files in `dir` other than the objects folder: proves no temp file is left behind. */
  const localFiles = async () => (await readdir(suite.dir)).filter((name) => name !== 'objects').sort();

  it.each([
    ['empty', 0],
    ['small', 999],
    ['multi-MiB', 4 * MiB + 1],
  ])('downloads a %s object, verified against what the store reports (both checksums: SHA-256 decides)', async (name, size) => {
    const bytes = await writeRandomFile(join(suite.dir, 'source'), size);
    await store.put(`down/${name}`, bytes);
    const path = join(suite.dir, `restored-${name}`);
    const result = await suite.pool.downloadFile(`down/${name}`, path, suite.target);
    expect(result).toEqual({ key: `down/${name}`, path, size, checksums: checksumBytes(bytes), verified: ['sha256'] });
    expect(await readFile(path)).toEqual(bytes);
    expect((await localFiles()).filter((n) => n.endsWith('.part'))).toEqual([]);
  });

  it('verifies against expected checksums and replaces an existing file', async () => {
    const bytes = Buffer.from('new contents');
    await store.put('down/replace', bytes);
    const path = join(suite.dir, 'replace-me');
    await writeFile(path, 'old contents');
    const result = await suite.pool.downloadFile('down/replace', path, suite.target, { expected: { sha256: checksumBytes(bytes).sha256 } });
    expect(result.verified).toEqual(['sha256']);
    expect(await readFile(path, 'utf8')).toBe('new contents');
  });

  it.each([
    ['one batch, hashed on the receiving thread', 999],
    ['several batches, hashed on the checksum thread', 9 * MiB + 7],
  ])('computes both checksums when only the CRC32C is expected (%s)', async (name, size) => {
    const bytes = await writeRandomFile(join(suite.dir, 'source'), size);
    await store.put(`down/crc-only-${size}`, bytes);
    const path = join(suite.dir, `crc-only-${size}`);
    const result = await suite.pool.downloadFile(`down/crc-only-${size}`, path, suite.target, { expected: { crc32c: checksumBytes(bytes).crc32c } });
    expect(result).toMatchObject({ size, checksums: checksumBytes(bytes), verified: ['crc32c'] });
    expect(await readFile(path)).toEqual(bytes);
  });

  it.each([
    ['both expected: the SHA-256 is compared', 'both', /^(?!.*crc32c).*sha256 declared [0-9a-f]{64}, bytes have [0-9a-f]{64}$/],
    ['the CRC32C alone expected', 'crc32c', /crc32c declared \S+, bytes have \S+$/],
  ])('names the difference of a corrupt object (%s)', async (_name, which, message) => {
    const original = Buffer.alloc(5 * MiB, 3);
    const flipped = Buffer.from(original);
    flipped[4 * MiB + 1] = flipped[4 * MiB + 1]! ^ 0x01;
    await store.put(`down/corrupt-${which}`, flipped);
    const { crc32c, sha256 } = checksumBytes(original);
    const expected = which === 'both' ? { crc32c, sha256 } : { crc32c };
    const error = await suite.pool.downloadFile(`down/corrupt-${which}`, join(suite.dir, `corrupt-${which}`), suite.target, { expected }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CHECKSUM_MISMATCH', message: expect.stringMatching(message) });
    expect((await localFiles()).filter((n) => n.startsWith('corrupt-') || n.endsWith('.part'))).toEqual([]);
  });

  it('fails a mismatch with CHECKSUM_MISMATCH, leaving the destination untouched and no temp file', async () => {
    const original = Buffer.alloc(3 * MiB, 1);
    const originalChecksums = checksumBytes(original);
    const flipped = Buffer.from(original);
    flipped[MiB] = flipped[MiB]! ^ 0xff;
    await store.put('down/corrupt', flipped);
    const path = join(suite.dir, 'keep-me');
    await writeFile(path, 'precious');
    const before = await localFiles();
    const error = await suite.pool.downloadFile('down/corrupt', path, suite.target, { expected: originalChecksums }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ColdStoreError);
    expect(error).toMatchObject({ code: 'CHECKSUM_MISMATCH', key: 'down/corrupt' });
    expect(await readFile(path, 'utf8')).toBe('precious');
    expect(await localFiles()).toEqual(before);
  });

  it('refuses to download what it cannot verify', async () => {
    await store.put('down/unverifiable', Buffer.from('x'));
    await writeFile(join(suite.objects, `o-${encodeURIComponent('down/unverifiable')}.json`), JSON.stringify({ checksums: {}, metadata: {} }));
    await expect(suite.pool.downloadFile('down/unverifiable', join(suite.dir, 'never'), suite.target)).rejects.toMatchObject({
      code: 'CHECKSUM_MISMATCH',
      message: expect.stringMatching(/nothing to verify/),
    });
    expect(await localFiles()).not.toContain('never');
  });

  it('downloads a range verified against the range’s expected checksums, and needs them', async () => {
    const bytes = await writeRandomFile(join(suite.dir, 'source'), 10_000);
    await store.put('down/ranged', bytes);
    const slice = bytes.subarray(100, 600);
    const path = join(suite.dir, 'slice');
    const result = await suite.pool.downloadFile('down/ranged', path, suite.target, { range: { offset: 100, length: 500 }, expected: checksumBytes(slice) });
    expect(result.size).toBe(500);
    expect(await readFile(path)).toEqual(slice);
    await expect(suite.pool.downloadFile('down/ranged', path, suite.target, { range: { offset: 0, length: 1 } })).rejects.toThrow(/needs options.expected/);
  });

  it('a size given without expected checksums that the stored object does not have is CHECKSUM_MISMATCH, and writes nothing', async () => {
    await store.put('down/sized', Buffer.from('twelve bytes'));
    const path = join(suite.dir, 'sized');
    await writeFile(path, 'untouched');
    const before = await localFiles();
    await expect(suite.pool.downloadFile('down/sized', path, suite.target, { size: 5 })).rejects.toMatchObject({
      code: 'CHECKSUM_MISMATCH',
      key: 'down/sized',
      message: expect.stringContaining('5 bytes expected, the stored object has 12'),
    });
    expect(await readFile(path, 'utf8')).toBe('untouched');
    expect(await localFiles()).toEqual(before);
    await expect(suite.pool.downloadFile('down/sized', path, suite.target, { size: 12 })).resolves.toMatchObject({ size: 12 });
  });

  it('a body that breaks off is the store’s failure naming the key, never blamed on the local file', async () => {
    // A store of someone else's (no readInto): its body stream fails with a raw error halfway.
    const bytes = Buffer.alloc(5 * MiB, 5);
    const breaking = {
      backend: 'breaking',
      get: async () =>
        Readable.from(
          (async function* () {
            yield bytes.subarray(0, MiB);
            throw new Error('connection reset by peer');
          })(),
        ),
    } as unknown as ColdStore;
    const path = join(suite.dir, 'broken-off');
    const error = await downloadToLocalFile(breaking, 'down/breaks', path, { expected: checksumBytes(bytes) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ColdStoreError);
    expect(error).toMatchObject({ backend: 'breaking', key: 'down/breaks', localPath: undefined, message: expect.stringContaining('connection reset by peer') });
    expect((error as Error).message).not.toContain(path);
    expect((await localFiles()).filter((name) => name.includes('broken-off'))).toEqual([]);
  });

  it('reports a missing object as NOT_FOUND and writes nothing', async () => {
    const before = await localFiles();
    await expect(suite.pool.downloadFile('down/absent', join(suite.dir, 'absent'), suite.target)).rejects.toMatchObject({ code: 'NOT_FOUND', key: 'down/absent' });
    expect(await localFiles()).toEqual(before);
  });

  it('aborts a download in the middle, leaving no temp file and the destination untouched', async () => {
    // The object itself is a FIFO: its bytes arrive only as the test writes them.
    const objectPath = join(suite.objects, `o-${encodeURIComponent('down/slow')}`);
    makeFifo(objectPath);
    await writeFile(`${objectPath}.json`, JSON.stringify({ checksums: checksumBytes(Buffer.alloc(0)), metadata: {} }));
    const path = join(suite.dir, 'slow');
    await writeFile(path, 'untouched');
    const before = await localFiles();
    const controller = new AbortController();
    let progressed = 0;
    const download = suite.pool.downloadFile('down/slow', path, suite.target, { signal: controller.signal, onProgress: (b) => (progressed = b) });
    const writer = await openFifoWriter(objectPath);
    try {
      await writer.write(Buffer.alloc(MiB, 3));
      await waitFor(() => progressed > 0);
      controller.abort();
      // The store's read of the FIFO may be blocked in libuv's threadpool, where nothing can
      // cancel it: the stream is destroyed once that read returns. The abort reaches the worker
      // a little later, so a chunk written before it did is read as data and the next read
      // blocks again: until the download settles, hand it a small chunk every 50 ms. Fifteen of
      // 4 KiB at most, less than the pipe holds, so no write can block (EPIPE: the reader has
      // closed the FIFO, nothing left to unblock).
      for (let chunk = 0, settled = false; chunk < 15 && !settled; chunk++) {
        const wrote = await writer.write(Buffer.alloc(4096, 4)).then(
          () => true,
          (error: NodeJS.ErrnoException) => {
            if (error.code !== 'EPIPE') throw error;
            return false;
          },
        );
        if (!wrote) break;
        ({ settled } = await settleWithin(download, 50));
      }
      expect(await settleWithin(download, 5_000)).toEqual({ settled: true });
    } finally {
      await writer.close();
    }
    await expect(download).rejects.toMatchObject({ code: 'ABORTED' });
    expect(await readFile(path, 'utf8')).toBe('untouched');
    expect(await localFiles()).toEqual(before);
  });

  it('concurrent downloads on one thread share its checksum thread, each verified against its own bytes', async () => {
    // Sizes that end mid-batch and span several 4 MiB batches, so the jobs' hashing interleaves.
    const sizes = [0, 1, 4 * MiB, 9 * MiB + 7, 13 * MiB + 1, 6 * MiB - 3];
    const objects = await Promise.all(
      sizes.map(async (size, i) => {
        const bytes = await writeRandomFile(join(suite.dir, `many-${i}`), size);
        await store.put(`down/many-${i}`, bytes);
        return bytes;
      }),
    );
    const results = await Promise.all(
      objects.map((bytes, i) => downloadToLocalFile(store, `down/many-${i}`, join(suite.dir, `many-out-${i}`), { expected: checksumBytes(bytes) })),
    );
    for (const [i, result] of results.entries()) {
      expect(result.checksums).toEqual(checksumBytes(objects[i]!));
      expect(await readFile(result.path)).toEqual(objects[i]);
    }
  });

  it('writes a download past the page cache (O_DIRECT): no page of it is cached, and sizes off the block come out exact', async () => {
    // fincore(1) counts a file's pages in the page cache; read the files only after asking it.
    const sizes = [1, 4095, 4097, 4 * MiB + 1, 8 * MiB];
    const objects = await Promise.all(
      sizes.map(async (size, i) => {
        const bytes = await writeRandomFile(join(suite.dir, `direct-${i}`), size);
        await store.put(`down/direct-${i}`, bytes);
        return bytes;
      }),
    );
    // Both ways of making the last steps: through libuv's threadpool, and blocking this thread.
    for (const syncOnThisThread of [false, true]) {
      const paths = sizes.map((_, i) => join(suite.dir, `direct-out-${i}-${syncOnThisThread}`));
      for (const [i, bytes] of objects.entries()) await downloadToLocalFile(store, `down/direct-${i}`, paths[i]!, { expected: checksumBytes(bytes), syncOnThisThread });
      expect(await cachedBytes(...paths), `syncOnThisThread: ${syncOnThisThread}`).toEqual(sizes.map(() => 0));
      for (const [i, bytes] of objects.entries()) expect(await readFile(paths[i]!)).toEqual(bytes);
    }
    expect((await localFiles()).filter((name) => name.endsWith('.part'))).toEqual([]);
  });

  it('writes through the page cache where the filesystem refuses O_DIRECT (ramfs)', async () => {
    // A ramfs mounted in a private mount namespace (`unshare -rm`); a child downloads into it.
    const mount = join(suite.dir, 'ram');
    await mkdir(mount);
    const size = 9 * MiB + 5;
    const script = join(suite.dir, 'download-into-ramfs.mjs');
    const core = JSON.stringify(new URL('../dist/index.js', import.meta.url).href);
    await writeFile(
      script,
      `import { Readable } from 'node:stream';
import { readFileSync } from 'node:fs';
import { checksumBytes, downloadToLocalFile } from ${core};
const bytes = Buffer.alloc(${size});
for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + (i >> 12)) & 0xff;
const store = { backend: 'child', get: async () => Readable.from([bytes.subarray(0, ${3 * MiB}), bytes.subarray(${3 * MiB})]) };
const path = process.argv[2] + '/restored';
const result = await downloadToLocalFile(store, 'k', path, { expected: checksumBytes(bytes) });
console.log(JSON.stringify({ size: result.size, same: readFileSync(path).equals(bytes) }));
`,
    );
    const { stdout } = await promisify(execFile)('unshare', ['-rm', 'sh', '-c', 'mount -t ramfs takhin-ram "$0" && exec "$1" "$2" "$0"', mount, process.execPath, script], { timeout: 60_000 });
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual({ size, same: true });
  });

  it('downloads through the page cache where no aligned memory can be had (node --jitless: no WebAssembly)', async () => {
    // The batch buffers are then plain shared memory, and the file is written buffered (so its
    // pages are in the page cache, which fincore(1) counts, before anything reads it).
    const bytes = Buffer.alloc(9 * MiB + 5, 9);
    const path = join(suite.dir, 'limited-out');
    const script = `
      import { Readable } from 'node:stream';
      import { checksumBytes, downloadToLocalFile, sharedBuffer } from '@takhin/core';
      const bytes = Buffer.alloc(${bytes.length}, 9);
      const store = { backend: 'child', get: async () => Readable.from([bytes]) };
      const result = await downloadToLocalFile(store, 'k', process.argv[1], { expected: checksumBytes(bytes) });
      console.log(JSON.stringify({ aligned: sharedBuffer(4096).aligned, size: result.size }));
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['--jitless', '--input-type=module', '-e', script, path], { cwd: import.meta.dirname });
    expect(JSON.parse(stdout)).toEqual({ aligned: false, size: bytes.length });
    const [cached] = await cachedBytes(path);
    expect(cached).toBeGreaterThan(0);
    expect(await readFile(path)).toEqual(bytes);
  });

  describe('in ranges (a large object of known size, several streams)', () => {
    // Parts of 8 MiB; the last one ends 5 bytes into a block.
    const size = RANGED_DOWNLOAD_FROM + 8 * MiB + 5;
    let bytes: Buffer;
    let expected: Checksums;
    beforeAll(async () => {
      bytes = await writeRandomFile(join(suite.dir, 'source'), size);
      expected = checksumBytes(bytes);
      await store.put('down/large', bytes);
    });

    it('with more streams than spare buffers, every byte lands in place and is hashed in order', async () => {
      const path = join(suite.dir, 'large-7');
      const result = await downloadToLocalFile(store, 'down/large', path, { expected, size, streams: 7 });
      expect(result).toMatchObject({ size, checksums: expected });
      expect((await readFile(path)).equals(bytes)).toBe(true);
    });

    it('a flipped byte in a middle part is CHECKSUM_MISMATCH, and the destination is untouched', async () => {
      const flipped = Buffer.from(bytes);
      flipped[70 * MiB + 3] = flipped[70 * MiB + 3]! ^ 0x10;
      await store.put('down/large-flipped', flipped);
      const path = join(suite.dir, 'large-flipped');
      await writeFile(path, 'untouched');
      const before = await localFiles();
      await expect(suite.pool.downloadFile('down/large-flipped', path, suite.target, { expected, size, streams: 4 })).rejects.toMatchObject({ code: 'CHECKSUM_MISMATCH' });
      expect(await readFile(path, 'utf8')).toBe('untouched');
      expect(await localFiles()).toEqual(before);
    });

    it('an object longer than size is CHECKSUM_MISMATCH even when its first size bytes are the expected ones, as in one request', async () => {
      // A part boundary (a whole number of 8 MiB parts) and a last part of 4 bytes.
      for (const shorter of [RANGED_DOWNLOAD_FROM, size - 1]) {
        const path = join(suite.dir, `large-prefix-${shorter}`);
        const prefix = checksumBytes(bytes.subarray(0, shorter));
        const before = await localFiles();
        for (const streams of [1, 4]) {
          await expect(suite.pool.downloadFile('down/large', path, suite.target, { expected: prefix, size: shorter, streams }), `${shorter} bytes, ${streams} streams`).rejects.toMatchObject({
            code: 'CHECKSUM_MISMATCH',
            key: 'down/large',
          });
        }
        expect(await localFiles()).toEqual(before);
      }
    });

    it('an abort while parts are in flight stops every stream: ABORTED, no temp file', async () => {
      const path = join(suite.dir, 'large-aborted');
      const before = await localFiles();
      const controller = new AbortController();
      // Aborted from the first progress: the other streams are mid-part or waiting for a buffer.
      const download = downloadToLocalFile(store, 'down/large', path, { expected, size, streams: 4, signal: controller.signal, onProgress: () => controller.abort() });
      await expect(download).rejects.toMatchObject({ code: 'ABORTED' });
      expect(await localFiles()).toEqual(before);
    });

    it('a size given without streams, or below the threshold, is one request as before', async () => {
      const small = bytes.subarray(0, 5 * MiB);
      await store.put('down/small-sized', small);
      const path = join(suite.dir, 'small-sized');
      await suite.pool.downloadFile('down/small-sized', path, suite.target, { expected: checksumBytes(small), size: small.byteLength, streams: 4 });
      expect((await readFile(path)).equals(small)).toBe(true);
      const whole = join(suite.dir, 'large-1');
      await suite.pool.downloadFile('down/large', whole, suite.target, { expected, size });
      expect((await readFile(whole)).equals(bytes)).toBe(true);
    });

    it('refuses a stream count or a size that is no count, naming the option, before any request', async () => {
      const path = join(suite.dir, 'never-ranged');
      await expect(suite.pool.downloadFile('down/large', path, suite.target, { streams: 0 })).rejects.toThrow('streams must be a whole number from 1 to 16, got 0');
      await expect(suite.pool.downloadFile('down/large', path, suite.target, { streams: 17 })).rejects.toThrow(RangeError);
      await expect(suite.pool.downloadFile('down/large', path, suite.target, { size: -1 })).rejects.toThrow('size must be a whole number of bytes, got -1');
      expect(() => new TransferPool({ downloadStreams: 2.5 })).toThrow('downloadStreams must be a whole number from 1 to 16, got 2.5');
      expect(await localFiles()).not.toContain('never-ranged');
    });
  });

  it('a process whose only work left is the checksum thread waits for it instead of exiting', async () => {
    // A child with no pool, no sockets and no timers: once the last batch is written, only the
    // checksum thread's answer is pending. Exiting there would print nothing (exit code 13).
    const script = `
      import { Readable } from 'node:stream';
      import { checksumBytes, downloadToLocalFile } from '@takhin/core';
      const bytes = Buffer.alloc(${9 * MiB + 5}, 7);
      const store = { backend: 'child', get: async () => Readable.from([bytes.subarray(0, ${5 * MiB}), bytes.subarray(${5 * MiB})]) };
      const result = await downloadToLocalFile(store, 'k', process.argv[1], { expected: checksumBytes(bytes) });
      console.log(JSON.stringify(result.checksums));
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script, join(suite.dir, 'child-out')], { cwd: import.meta.dirname });
    expect(JSON.parse(stdout)).toEqual(checksumBytes(Buffer.alloc(9 * MiB + 5, 7)));
  });
});
