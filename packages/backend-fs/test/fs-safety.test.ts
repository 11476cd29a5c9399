import { execFile } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { promisify } from 'node:util';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsColdStore } from '@takhin/backend-fs';
import { collect, expectCode, readAll } from '@takhin/testkit';

describe('FsColdStore on disk', () => {
  let base: string;
  let root: string;
  let outside: string;
  let store: FsColdStore;
  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'takhin-fs-safety-'));
    root = join(base, 'root');
    outside = join(base, 'outside');
    await mkdir(outside, { recursive: true });
    await writeFile(join(outside, 'secret'), 'do not read');
    store = new FsColdStore({ root });
    await store.put('seed', Buffer.from('x'));
  });
  afterAll(() => rm(base, { recursive: true, force: true }));

  it('stores objects as plain files an operator can read', async () => {
    await store.put('segments/orders-0/00000000000000000000.log', Buffer.from('records'));
    expect(await readFile(join(root, 'segments/orders-0/00000000000000000000.log'), 'utf8')).toBe('records');
  });

  it('a symlinked folder cannot carry a key outside the root', async () => {
    await symlink(outside, join(root, 'escape'));
    await expectCode(store.get('escape/secret'), 'INVALID_KEY');
    await expectCode(store.head('escape/secret'), 'INVALID_KEY');
    await expectCode(store.put('escape/planted', Buffer.from('x')), 'INVALID_KEY');
    await expectCode(store.delete('escape/secret'), 'INVALID_KEY');
    expect(await readdir(outside)).toEqual(['secret']);
  });

  it('a symlink planted as the object itself is refused, not followed', async () => {
    await symlink(join(outside, 'secret'), join(root, 'link-to-secret'));
    await expectCode(store.get('link-to-secret'), 'INVALID_KEY');
    expect(await store.head('link-to-secret')).toBeNull();
  });

  it('objects that are FIFOs without a writer are NOT_FOUND at once, and the process\'s other file work goes on', async () => {
    // As many as libuv has threads: opened blocking, they held every thread until a writer came.
    const fifos = Array.from({ length: Number(process.env.UV_THREADPOOL_SIZE ?? 4) }, (_, i) => `fifo/pipe-${i}`);
    await mkdir(join(root, 'fifo'), { recursive: true });
    for (const key of fifos) await promisify(execFile)('mkfifo', [join(root, key)]);
    const sink = { space: () => Buffer.alloc(4096), filled: async () => {} };
    const reads = fifos.flatMap((key) => [store.get(key), store.readInto!(key, sink)]);
    for (const read of reads) read.catch(() => {});
    try {
      const otherWork = (async () => {
        await writeFile(join(base, 'other-file'), 'unrelated');
        return readFile(join(base, 'other-file'), 'utf8');
      })();
      const within = <T>(promise: Promise<T>, ms: number) => Promise.race([promise.then(() => true, () => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))]);
      expect(await within(otherWork, 3_000), 'a writeFile and a readFile complete beside the reads').toBe(true);
      expect(await within(Promise.allSettled(reads), 3_000), 'every read of a FIFO settles').toBe(true);
      for (const read of reads) await expectCode(read, 'NOT_FOUND');
      expect(await store.head(fifos[0]!)).toBeNull();
    } finally {
      // Releases opens a blocking implementation would still be stuck in, so the worker can end.
      for (const key of fifos) {
        try {
          closeSync(openSync(join(root, key), constants.O_WRONLY | constants.O_NONBLOCK));
        } catch {
          // no reader left: nothing is stuck on this one
        }
      }
      await rm(join(root, 'fifo'), { recursive: true, force: true });
    }
  });

  it('keys under the reserved folder are refused', async () => {
    await expectCode(store.put('.takhin/meta/x', Buffer.from('x')), 'INVALID_KEY');
    await expectCode(store.get('.takhin/tmp'), 'INVALID_KEY');
  });

  it('lists do not show the store\'s own folder', async () => {
    const keys = (await collect(store.list(''))).map((o) => o.key);
    expect(keys.some((k) => k.startsWith('.takhin'))).toBe(false);
    expect(keys).toContain('seed');
  });

  it('lists in key order, as object stores do', async () => {
    for (const key of ['order/a/b', 'order/a-c', 'order/a', 'order/B']) await store.put(key.replace('order/a', 'order/a').replace(/^order\/a$/, 'order/aa'), Buffer.from('x'));
    const keys = (await collect(store.list('order/'))).map((o) => o.key);
    expect(keys).toEqual([...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))));
    expect(keys).toEqual(['order/B', 'order/a-c', 'order/a/b', 'order/aa']);
  });

  it('removes folders left empty by a delete, and no more', async () => {
    await store.put('prune/a/b/c/one', Buffer.from('1'));
    await store.put('prune/a/keep', Buffer.from('2'));
    await store.delete('prune/a/b/c/one');
    await expect(stat(join(root, 'prune/a/b'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readdir(join(root, 'prune/a'))).toEqual(['keep']);
    await store.delete('prune/a/keep');
    await expect(stat(join(root, 'prune'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await stat(root)).isDirectory()).toBe(true);
  });

  it('a root given relative or unnormalised prunes emptied folders too, so a key may take a former folder\'s name', async () => {
    const absolute = join(base, 'spelled', '..', 'unnormalised', '.') + '/';
    const relativeRoot = `./${relative(process.cwd(), join(base, 'relative-root'))}`;
    for (const given of [absolute, relativeRoot]) {
      const other = new FsColdStore({ root: given });
      try {
        await other.put('former/folder/object', Buffer.from('x'));
        await other.delete('former/folder/object');
        // Before: the folders stayed (pruning compared joined paths with the root as given).
        await expect(stat(join(given, 'former')), given).rejects.toMatchObject({ code: 'ENOENT' });
        await other.put('former', Buffer.from('now an object'));
        expect((await readAll(await other.get('former'))).toString(), given).toBe('now an object');
      } finally {
        await other.close();
      }
    }
  });

  it('an object cannot share its name with a folder of other objects', async () => {
    await store.put('clash/a/b', Buffer.from('x'));
    await expectCode(store.put('clash/a', Buffer.from('y')), 'INVALID_KEY');
    await store.put('clash/file', Buffer.from('x'));
    await expectCode(store.put('clash/file/child', Buffer.from('y')), 'INVALID_KEY');
    expect((await readAll(await store.get('clash/a/b'))).toString()).toBe('x');
  });

  it('of many racing ifNoneMatch puts exactly one wins', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 16 }, (_, i) => store.put('race/winner', Buffer.from(`writer-${i}`), { ifNoneMatch: true })),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.code)).toEqual(
      Array(15).fill('ALREADY_EXISTS'),
    );
    expect(await store.openUploads()).toEqual([]);
  });

  it('a sidecar left behind by a crash between the two renames does not vouch for new bytes', async () => {
    await store.put('stale/obj', Buffer.from('old bytes'), { metadata: { v: '1' } });
    // Simulate the crash window: the object file replaced, the sidecar still the old one.
    await writeFile(join(root, 'stale/obj.new'), 'new bytes!');
    const { rename } = await import('node:fs/promises');
    await rename(join(root, 'stale/obj.new'), join(root, 'stale/obj'));
    const head = await store.head('stale/obj');
    expect(head).toMatchObject({ size: 10, checksums: {}, metadata: {} });
  });

  it('a store copied with its times (cp -a: every inode new) still vouches for its objects, and not for one changed since', async () => {
    await store.put('copied/a', Buffer.from('first object'), { metadata: { v: 'a' } });
    await store.put('copied/b', Buffer.from('second object'));
    const copyRoot = join(base, 'copied-root');
    await promisify(execFile)('cp', ['-a', root, copyRoot]);
    const copy = new FsColdStore({ root: copyRoot });
    try {
      expect((await stat(join(copyRoot, 'copied/a'))).ino).not.toBe((await stat(join(root, 'copied/a'))).ino);
      expect(await copy.head('copied/a')).toMatchObject({ size: 12, checksums: (await store.head('copied/a'))!.checksums, metadata: { v: 'a' } });
      expect((await collect(copy.list('copied/'))).map((o) => [o.key, o.checksums.sha256])).toEqual(
        (await collect(store.list('copied/'))).map((o) => [o.key, o.checksums.sha256]),
      );
      // Changed in the copy behind the store's back: its time moves, and nothing vouches for it.
      await writeFile(join(copyRoot, 'copied/b'), 'other object!');
      expect(await copy.head('copied/b')).toMatchObject({ size: 13, checksums: {}, metadata: {} });
    } finally {
      await copy.close();
    }
  });
});
