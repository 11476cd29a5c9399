import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { TransferPool } from '@takhin/core';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { openBenchBackend, type BenchBackend } from '../dist/bench-backend.js';
import { REPO_ROOT } from '../dist/bench-services.js';
import { intoPageCache, measureBackend, outOfPageCache } from '../dist/transfers/throughput.js';
import type { TransferClient, TransferJob } from '../dist/transfers/transfer-client.js';
import { generateShape, removeDir, type TransferShape } from '../dist/transfers/transfer-corpus.js';

const run = promisify(execFile);
/** Git-ignored, and on the disk the repository is on. */
const SCRATCH = join(REPO_ROOT, '.services');
let backend: BenchBackend;
let pool: TransferPool;
let work: string;
let shape: TransferShape;

beforeAll(async () => {
  backend = await openBenchBackend('fs', {});
  pool = new TransferPool({ maxThreads: 1, minThreads: 1 });
  work = await mkdtemp(join(tmpdir(), 'takhin-bench-test-'));
  shape = await generateShape(join(work, 'corpus'), pool, 2, 1);
});

afterAll(async () => {
  await pool?.close();
  await backend?.cleanup();
  if (work) await removeDir(work);
});

/** A client copying files in and out of the fs backend's root, each call noted in `calls`; `spoil` changes what it writes. */
function copyingClient(id: string, calls: string[], spoil: { upload?: boolean; download?: boolean } = {}): TransferClient {
  const root = (backend.target.config as { root: string }).root;
  const put = async (from: string, to: string, bad: boolean | undefined) => {
    await mkdir(dirname(to), { recursive: true });
    if (bad) await writeFile(to, Buffer.alloc(1, 1)); // the wrong bytes, quickly
    else await copyFile(from, to);
  };
  return {
    id,
    kind: id === 'pool' ? 'ours' : 'sdk',
    label: id,
    concurrency: '1',
    async upload(job: TransferJob) {
      // The pool's untimed uploads (the warm-up's, each run's download objects) are not its turn.
      if (!job.uploadPrefix.endsWith('/source')) calls.push(`up ${id} r${job.run}`);
      for (const file of job.shape.files) await put(file.path, join(root, job.uploadPrefix, file.relative), spoil.upload);
    },
    async download(job: TransferJob) {
      calls.push(`down ${id} r${job.run}`);
      for (const file of job.shape.files) await put(join(root, job.downloadPrefix, file.relative), join(job.downloadDir, file.relative), spoil.download);
    },
  };
}

const quiet = () => {};

async function keysUnder(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of backend.store.list(prefix)) keys.push(object.key);
  return keys.sort();
}

describe('measureBackend', () => {
  it('rotates who goes first, uploads and downloads alike, the pool included', async () => {
    const calls: string[] = [];
    const clients = ['pool', 'a', 'b'].map((id) => copyingClient(id, calls));
    await measureBackend(backend, clients, [shape], { runs: 3, work, log: quiet });
    const firsts = (direction: string) => [1, 2, 3].map((run) => calls.find((call) => call.startsWith(`${direction} `) && call.endsWith(` r${run}`)));
    expect(firsts('up')).toEqual(['up pool r1', 'up a r2', 'up b r3']);
    expect(firsts('down')).toEqual(['down pool r1', 'down a r2', 'down b r3']);
  });

  it('starts every timed upload with the store holding just the run\'s download objects, every other upload deleted', async () => {
    const held: string[][] = [];
    const clients = ['pool', 'a', 'b'].map((id) => {
      const client = copyingClient(id, []);
      return {
        ...client,
        async upload(job: TransferJob) {
          if (!job.uploadPrefix.endsWith('/source')) held.push(await keysUnder(`${backend.runPrefix}/`));
          await client.upload(job);
        },
      };
    });
    await measureBackend(backend, clients, [shape], { runs: 2, work, log: quiet });
    expect(held).toHaveLength(6);
    for (const [i, keys] of held.entries()) {
      const run = i < 3 ? 1 : 2;
      expect(keys).toEqual(shape.files.map((file) => `${backend.runPrefix}/r${run}/${shape.id}/source/${file.relative}`).sort());
    }
    expect(await keysUnder(`${backend.runPrefix}/`)).toEqual([]);
  });

  it('restarts the server before every run when asked, each run then warmed up again before its timed uploads', async () => {
    const calls: string[] = [];
    const clients = ['pool', 'a'].map((id) => copyingClient(id, calls));
    let pid = 100;
    const pids: Array<number | undefined> = [];
    const restartServer = async () => {
      calls.push('restart');
      pid++;
    };
    const serverPid = () => {
      pids.push(pid);
      return undefined; // no such process to read: the probe then reports no server CPU
    };
    await measureBackend(backend, clients, [shape], { runs: 2, work, log: quiet, restartServer, serverPid });
    // The warm-up's download is the pool's `down … r0`; without restartServer there is one, before run 1 only.
    expect(calls.filter((call) => call === 'restart' || call === 'down pool r0')).toEqual(['restart', 'down pool r0', 'restart', 'down pool r0']);
    expect(calls.indexOf('restart', 1)).toBeLessThan(calls.findIndex((call) => call.startsWith('up ') && call.endsWith(' r2')));
    expect(calls.findIndex((call) => call.startsWith('up ') && call.endsWith(' r1'))).toBeGreaterThan(calls.indexOf('down pool r0'));
    // Every timed transfer asked for the pid after the restart before it: 101 in run 1, 102 in run 2 (4 transfers each).
    expect(pids).toEqual([101, 101, 101, 101, 102, 102, 102, 102]);
  });

  it('fails, naming the client, when a download is not the bytes it was given', async () => {
    const clients = [copyingClient('pool', []), copyingClient('garbage', [], { download: true })];
    await expect(measureBackend(backend, clients, [shape], { runs: 1, work, log: quiet })).rejects.toThrow(/garbage's download of 2 × 1 MiB \(run 1\) is not the shape's files: .*1 bytes/);
  });

  it('fails, naming the client, when an upload is not the files it was given', async () => {
    const clients = [copyingClient('pool', []), copyingClient('garbage', [], { upload: true })];
    await expect(measureBackend(backend, clients, [shape], { runs: 1, work, log: quiet })).rejects.toThrow(/garbage's upload of 2 × 1 MiB \(run 1\) is not the shape's files: .*1 bytes, not/);
  });
});

describe('the page cache before each clock', () => {
  /** Bytes of `path` in the page cache, as util-linux's fincore counts them. */
  async function cachedBytes(path: string): Promise<number> {
    const { stdout } = await run('fincore', ['--bytes', '--noheadings', '--output', 'RES', path]);
    return Number(stdout.trim());
  }

  it('drops a file from it, and reads it back in: each upload starts warm, each fs download cold', async () => {
    // On the repository's disk: a temp folder may be a tmpfs, whose pages cannot be dropped.
    await mkdir(SCRATCH, { recursive: true });
    const path = join(await mkdtemp(join(SCRATCH, 'page-cache-')), 'cached');
    onTestFinished(() => removeDir(dirname(path)));
    await writeFile(path, Buffer.alloc(8 * 1024 * 1024, 3));
    await run('sync');
    await outOfPageCache([path]);
    expect(await cachedBytes(path)).toBe(0);
    await intoPageCache([path]);
    expect(await cachedBytes(path)).toBe(8 * 1024 * 1024);
  });
});
