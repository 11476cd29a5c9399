import { mkdir, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { checksumBytes, ColdStoreError, TransferPool } from '@takhin/core';
import { makeFifo, makeTempDir, openFifoWriter, removeDir, waitFor } from './fixtures/local-files.js';
import { DIR_STORE_MODULE } from './fixtures/pool-suite.js';

/** A backend whose `get` ends its worker thread, or stalls and ignores its AbortSignal, or blocks its thread (fixtures/rogue-store.ts). */
const rogueTarget = (mode: 'exit' | 'stall' | 'block' | 'exit-on-create') => ({
  module: new URL('./fixtures/rogue-store.ts', import.meta.url).href,
  config: { mode, size: 10, checksums: checksumBytes(Buffer.alloc(10)) },
});

/** The descriptors of this process (its worker threads' included) open on `path`. */
async function descriptorsOf(path: string): Promise<string[]> {
  const found: string[] = [];
  for (const fd of await readdir('/proc/self/fd')) {
    if ((await readlink(`/proc/self/fd/${fd}`).catch(() => undefined)) === path) found.push(fd);
  }
  return found;
}

describe('TransferPool lifecycle', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await makeTempDir('lifecycle');
  });
  afterAll(async () => {
    await removeDir(dir);
  });

  it('drops a queued task on abort without disturbing the running one', async () => {
    const pool = new TransferPool({ maxThreads: 1 });
    try {
      const fifo = makeFifo(join(dir, 'blocking'));
      const target = { module: DIR_STORE_MODULE, config: { root: join(dir, 'queued') } };
      const running = pool.uploadFile(fifo, 'running', target); // holds the only worker until the FIFO closes
      const controller = new AbortController();
      await writeFile(join(dir, 'small'), 'abc');
      const queued = pool.checksumFile(join(dir, 'small'), { signal: controller.signal });
      controller.abort();
      await expect(queued).rejects.toMatchObject({ code: 'ABORTED', backend: 'transfer-pool' });
      const writer = await openFifoWriter(fifo);
      await writer.write('the end');
      await writer.close();
      // Had the worker been terminated, this upload would have failed.
      await expect(running).resolves.toMatchObject({ key: 'running', size: 7 });
      expect(pool.threads).toBe(1);
    } finally {
      await pool.close();
    }
  });

  it('closes every backend each worker built when the pool closes, and refuses work afterwards', async () => {
    const pool = new TransferPool({ maxThreads: 2, minThreads: 2 });
    const roots = [join(dir, 'a'), join(dir, 'b')];
    await writeFile(join(dir, 'payload'), 'payload');
    for (let i = 0; i < 8; i++) {
      await Promise.all(roots.map((root) => pool.uploadFile(join(dir, 'payload'), `k${i}`, { module: DIR_STORE_MODULE, config: { root } })));
    }
    const closedMarkers = async (root: string) => (await readdir(join(root, 'closed')).catch(() => [])).length;
    expect(await closedMarkers(roots[0]!)).toBe(0);
    await pool.close();
    for (const root of roots) {
      // One marker per worker that built this store: at least one, at most both.
      expect(await closedMarkers(root)).toBeGreaterThanOrEqual(1);
      expect(await closedMarkers(root)).toBeLessThanOrEqual(2);
    }
    expect(pool.threads).toBe(0);
    await expect(pool.checksumFile(join(dir, 'payload'))).rejects.toThrow(/closed/);
    await expect(pool.close()).resolves.toBeUndefined();
  });

  it('warms every thread it may run: each starts and builds the target\'s store before any transfer', async () => {
    const pool = new TransferPool({ maxThreads: 3, minThreads: 1 });
    const root = join(dir, 'warmed');
    await pool.warm({ module: DIR_STORE_MODULE, config: { root } });
    expect(pool.threads).toBe(3);
    await pool.close();
    // Each of the three workers built the store, so each closed one.
    expect(await readdir(join(root, 'closed'))).toHaveLength(3);
  });

  it('rejects a warm-up whose target cannot be built, naming the module', async () => {
    const pool = new TransferPool({ maxThreads: 2 });
    try {
      const missing = join(dir, 'no-such-backend.js');
      await expect(pool.warm({ module: missing, config: {} })).rejects.toThrow(/no-such-backend/);
    } finally {
      await pool.close();
    }
  });

  it('rejects a warm-up whose thread dies building the target\'s store with a ColdStoreError, as a transfer would', async () => {
    const pool = new TransferPool({ maxThreads: 2 });
    try {
      const error = await pool.warm(rogueTarget('exit-on-create')).catch((e: unknown) => e);
      expect(error, String(error)).toBeInstanceOf(ColdStoreError);
      expect(error).toMatchObject({ code: 'UNAVAILABLE', backend: 'transfer-pool', message: expect.stringMatching(/exited with code: 8/) });
    } finally {
      await pool.close();
    }
  });

  it('waits for running tasks before closing', async () => {
    const pool = new TransferPool({ maxThreads: 1 });
    const fifo = makeFifo(join(dir, 'closing'));
    const upload = pool.uploadFile(fifo, 'late', { module: DIR_STORE_MODULE, config: { root: join(dir, 'c') } });
    const writer = await openFifoWriter(fifo);
    let closed = false;
    const closing = pool.close().then(() => (closed = true));
    await writer.write('still going');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(closed).toBe(false);
    await writer.close();
    await expect(upload).resolves.toMatchObject({ size: 11 });
    await closing;
    await waitFor(() => closed);
  });

  it('a download whose worker thread dies leaves no temp file beside the destination, and the destination untouched', async () => {
    const pool = new TransferPool({ maxThreads: 1 });
    try {
      const folder = join(dir, 'died');
      await mkdir(folder);
      await writeFile(join(folder, 'restored'), 'untouched');
      await expect(pool.downloadFile('k', join(folder, 'restored'), rogueTarget('exit'))).rejects.toMatchObject({ code: 'UNAVAILABLE', key: 'k', message: expect.stringMatching(/exited/) });
      expect(await readdir(folder)).toEqual(['restored']);
      expect(await readFile(join(folder, 'restored'), 'utf8')).toBe('untouched');
    } finally {
      await pool.close();
    }
  });

  it('an aborted download whose backend ignores the abort ends its thread after the grace, leaving no temp file', async () => {
    const pool = new TransferPool({ maxThreads: 1, abortGraceMs: 100 });
    try {
      const folder = join(dir, 'terminated');
      await mkdir(folder);
      const controller = new AbortController();
      const download = pool.downloadFile('k', join(folder, 'restored'), rogueTarget('stall'), { signal: controller.signal });
      // The temp file is created before the store's get, which then stalls.
      for (let waited = 0; (await readdir(folder)).length === 0; waited += 10) {
        if (waited >= 10_000) throw new Error('the download never created its temp file');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(await readdir(folder)).toEqual([expect.stringMatching(/^\.restored\.[0-9a-f]{12}\.part$/)]);
      controller.abort();
      await expect(download).rejects.toMatchObject({ code: 'ABORTED', key: 'k' });
      expect(await readdir(folder)).toEqual([]);
      // The thread that was terminated is replaced: the pool still works.
      await writeFile(join(dir, 'after'), 'after');
      await expect(pool.checksumFile(join(dir, 'after'))).resolves.toMatchObject({ size: 5 });
    } finally {
      await pool.close();
    }
  });

  it('an aborted upload whose backend blocks its thread ends that thread after the grace, and the file it read is no longer held open', async () => {
    const pool = new TransferPool({ maxThreads: 1, abortGraceMs: 100 });
    try {
      const source = join(dir, 'held-source');
      await writeFile(source, 'the bytes of a segment');
      const controller = new AbortController();
      const upload = pool.uploadFile(source, 'k', rogueTarget('block'), { signal: controller.signal });
      // The worker shares this process's descriptor table: the file is open once its put blocks.
      await vi.waitFor(async () => expect(await descriptorsOf(source), 'the upload opened its file').not.toEqual([]), { timeout: 10_000, interval: 10 });
      controller.abort();
      await expect(upload).rejects.toMatchObject({ code: 'ABORTED', key: 'k' });
      // The thread's teardown closes its FileHandle a moment after the abort rejects. A bare
      // descriptor would outlive it: the pool turns off Node's tracking of those.
      await vi.waitFor(async () => expect(await descriptorsOf(source), 'descriptors still open on the uploaded file').toEqual([]), { timeout: 10_000, interval: 20 });
    } finally {
      await pool.close();
    }
  });

  it('close() aborts the tasks still pending after its grace, running or queued, each ABORTED saying the pool closed; a backend ignoring the abort has its thread terminated', async () => {
    const pool = new TransferPool({ maxThreads: 1, abortGraceMs: 200 });
    const folder = join(dir, 'closed-under');
    await mkdir(folder);
    await writeFile(join(dir, 'queued-behind'), 'queued');
    // Stalls in its store's get and ignores its AbortSignal, holding the only thread.
    const stalled = pool.downloadFile('k', join(folder, 'restored'), rogueTarget('stall')).catch((e: unknown) => e);
    for (let waited = 0; (await readdir(folder)).length === 0; waited += 10) {
      if (waited >= 10_000) throw new Error('the download never created its temp file');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const queued = pool.checksumFile(join(dir, 'queued-behind')).catch((e: unknown) => e);
    const started = performance.now();
    await expect(pool.close({ graceMs: 100 })).resolves.toBeUndefined();
    const elapsed = performance.now() - started;
    const closedMessage = /^transfer-pool: operation aborted( for "k")?: the TransferPool was closed and the task was still pending 100 ms later \(its close grace\)$/;
    for (const [name, error] of [['stalled download', await stalled], ['queued checksum', await queued]] as const) {
      expect(error, name).toBeInstanceOf(ColdStoreError);
      expect(error, name).toMatchObject({ code: 'ABORTED', backend: 'transfer-pool', message: expect.stringMatching(closedMessage) });
    }
    expect((await stalled as ColdStoreError).key).toBe('k');
    // The grace, then the abort's grace, then the threads' release: seconds, not for ever.
    expect(elapsed).toBeGreaterThanOrEqual(100);
    expect(elapsed).toBeLessThan(10_000);
    expect(pool.threads).toBe(0);
    expect(await readdir(folder), 'the terminated download left no temp file').toEqual([]);
  });

  it('a task its caller aborted before the close grace ran out ends as the caller\'s abort, its own abort grace cut short', async () => {
    const pool = new TransferPool({ maxThreads: 1, abortGraceMs: 60_000 });
    const folder = join(dir, 'caller-aborted');
    await mkdir(folder);
    const controller = new AbortController();
    const stalled = pool.downloadFile('k', join(folder, 'restored'), rogueTarget('stall'), { signal: controller.signal }).catch((e: unknown) => e);
    for (let waited = 0; (await readdir(folder)).length === 0; waited += 10) {
      if (waited >= 10_000) throw new Error('the download never created its temp file');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    controller.abort(); // the stalled backend ignores it: only its thread's termination, 60 s on, would end it
    const started = performance.now();
    await pool.close({ graceMs: 0 });
    expect(performance.now() - started).toBeLessThan(10_000);
    // Before: ABORTED "the TransferPool was closed…", though its caller had aborted it.
    const error = (await stalled) as ColdStoreError;
    expect(error).toMatchObject({ code: 'ABORTED', key: 'k' });
    expect(error.message).not.toContain('the TransferPool was closed');
  });

  it('a later close() may shorten the grace; a bad grace is refused and closes nothing', async () => {
    const pool = new TransferPool({ maxThreads: 1, abortGraceMs: 100 });
    const folder = join(dir, 'shortened');
    await mkdir(folder);
    for (const graceMs of [-1, 1.5, Number.NaN, '10' as unknown as number]) {
      await expect(pool.close({ graceMs })).rejects.toThrow(/^graceMs must be a whole number of milliseconds ≥ 0, got /);
    }
    expect(() => new TransferPool({ closeGraceMs: -5 })).toThrow('closeGraceMs must be a whole number of milliseconds ≥ 0, got -5');
    // Not closed by the refused calls: it still takes work.
    const stalled = pool.downloadFile('k', join(folder, 'restored'), rogueTarget('stall')).catch((e: unknown) => e);
    const first = pool.close({ graceMs: 60_000 });
    const started = performance.now();
    await pool.close({ graceMs: 0 });
    await first;
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(await stalled).toMatchObject({ code: 'ABORTED', message: expect.stringContaining('still pending 0 ms later') });
  });

  describe('checksums, one per core (maxChecksums)', () => {
    /** A pool of two threads that runs one checksum at a time, that one held on a FIFO until `release()`. */
    async function heldChecksum(name: string, options: { closeGraceMs?: number } = {}) {
      const pool = new TransferPool({ maxThreads: 2, maxChecksums: 1, ...options });
      const fifo = makeFifo(join(dir, `${name}-fifo`));
      const held = pool.checksumFile(fifo);
      const small = join(dir, `${name}-small`);
      await writeFile(small, 'abc');
      const release = async () => {
        const writer = await openFifoWriter(fifo);
        await writer.write('held');
        await writer.close();
      };
      return { pool, held, small, release };
    }

    /** Whether `promise` has settled after the event loop turned for `ms`. */
    async function settledWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
      let settled = false;
      void promise.then(
        () => (settled = true),
        () => (settled = true),
      );
      await new Promise((resolve) => setTimeout(resolve, ms));
      return settled;
    }

    it('runs a second checksum only once the first is done, while transfers take the other thread', async () => {
      const { pool, held, small, release } = await heldChecksum('gated');
      try {
        const waiting = pool.checksumFile(small);
        // The second thread is free: an upload goes through while the checksum waits its turn.
        await expect(pool.uploadFile(small, 'beside', { module: DIR_STORE_MODULE, config: { root: join(dir, 'gated-store') } })).resolves.toMatchObject({ size: 3 });
        expect(await settledWithin(waiting, 200)).toBe(false);
        await release();
        await expect(held).resolves.toMatchObject({ size: 4 });
        await expect(waiting).resolves.toEqual({ size: 3, ...checksumBytes(Buffer.from('abc')) });
      } finally {
        await pool.close();
      }
    });

    it('drops a checksum waiting its turn on its abort, and passes the turn on to the next', async () => {
      const { pool, held, small, release } = await heldChecksum('gate-abort');
      try {
        const controller = new AbortController();
        const dropped = pool.checksumFile(small, { signal: controller.signal });
        const next = pool.checksumFile(small);
        controller.abort();
        await expect(dropped).rejects.toMatchObject({ code: 'ABORTED', backend: 'transfer-pool' });
        await release();
        await expect(held).resolves.toMatchObject({ size: 4 });
        await expect(next).resolves.toMatchObject({ size: 3 });
        // The turn the aborted one never took is not lost: two more run, one after the other.
        await expect(Promise.all([pool.checksumFile(small), pool.checksumFile(small)])).resolves.toHaveLength(2);
      } finally {
        await pool.close();
      }
    });

    it('close() lets a checksum waiting its turn run within its grace', async () => {
      const { pool, held, small, release } = await heldChecksum('gate-close');
      const waiting = pool.checksumFile(small);
      const closing = pool.close();
      await release();
      await expect(held).resolves.toMatchObject({ size: 4 });
      await expect(waiting).resolves.toMatchObject({ size: 3 });
      await expect(closing).resolves.toBeUndefined();
    });

    it('close() drops a checksum still waiting its turn when its grace runs out, saying the pool closed', async () => {
      const { pool, held, small } = await heldChecksum('gate-grace', { closeGraceMs: 100 });
      const waiting = pool.checksumFile(small);
      const failures = Promise.all([held.catch((e: unknown) => e), waiting.catch((e: unknown) => e)]);
      await pool.close();
      // The held one is asked to abort (its FIFO read ends), the waiting one never reaches a thread.
      for (const failure of await failures) {
        expect(failure).toMatchObject({ code: 'ABORTED', message: expect.stringContaining('still pending 100 ms later') });
      }
    });

    it('refuses a maxChecksums that is no count, naming the option, before any thread starts', () => {
      for (const maxChecksums of [0, -1, 1.5, Number.NaN]) {
        expect(() => new TransferPool({ maxChecksums })).toThrow(new RangeError(`maxChecksums must be a whole number ≥ 1, got ${maxChecksums}`));
      }
    });
  });

  it('resolves a backend given as a relative path', async () => {
    const pool = new TransferPool({ maxThreads: 1 });
    try {
      await writeFile(join(dir, 'rel'), 'rel');
      const relative = join('packages/core/test/fixtures/dir-store.ts');
      const result = await pool.uploadFile(join(dir, 'rel'), 'rel', { module: `./${relative}`, config: { root: join(dir, 'd') } });
      expect(result.size).toBe(3);
    } finally {
      await pool.close();
    }
  });
});
