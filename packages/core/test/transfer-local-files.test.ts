import { execFile } from 'node:child_process';
import { constants, fstatSync, openSync, closeSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ColdStoreError, TransferPool, createColdStore } from '@takhin/core';
import { MiB, makeFifo, makeTempDir, openFifoWriter, removeDir, settleWithin, writeRandomFile } from './fixtures/local-files.js';
import { DIR_STORE_MODULE, usePoolSuite } from './fixtures/pool-suite.js';

/** The rejection of `promise`, which must be a ColdStoreError of `code` naming `mentions`. */
async function expectLocalFailure(promise: Promise<unknown>, code: string, mentions: string): Promise<ColdStoreError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'a ColdStoreError, not a raw system error').toBeInstanceOf(ColdStoreError);
  expect((error as ColdStoreError).code, String(error)).toBe(code);
  expect((error as Error).message).toContain(mentions);
  return error as ColdStoreError;
}

describe('TransferPool: local file failures are ColdStoreErrors naming the file', () => {
  const suite = usePoolSuite('local-files');

  it('a missing file or folder to upload or checksum is NOT_FOUND', async () => {
    const missing = join(suite.dir, 'absent.log');
    await expectLocalFailure(suite.pool.uploadFile(missing, 'up/absent', suite.target), 'NOT_FOUND', missing);
    await expectLocalFailure(suite.pool.checksumFile(missing), 'NOT_FOUND', missing);
  });

  it('a folder where a file should be is refused, not read', async () => {
    const folder = join(suite.dir, 'a-folder');
    await mkdir(folder);
    await expectLocalFailure(suite.pool.uploadFile(folder, 'up/folder', suite.target), 'NOT_FOUND', folder);
    await expectLocalFailure(suite.pool.checksumFile(folder), 'NOT_FOUND', folder);
  });

  it('a download into a missing folder, or onto a folder, fails without a raw errno', async () => {
    const store = await createColdStore(suite.target);
    await store.put('down/one', Buffer.from('bytes'));
    await store.close();
    const intoMissing = join(suite.dir, 'no-such-folder', 'file');
    await expectLocalFailure(suite.pool.downloadFile('down/one', intoMissing, suite.target), 'NOT_FOUND', intoMissing);
    const ontoFolder = join(suite.dir, 'destination-folder');
    await mkdir(ontoFolder);
    await expectLocalFailure(suite.pool.downloadFile('down/one', ontoFolder, suite.target), 'NOT_FOUND', ontoFolder);
  });

  // A full disk needs a small filesystem: a 1 MiB tmpfs, mounted in a private mount namespace of
  // an unprivileged user namespace (`unshare -rm`), where a child process restores into it.
  it('a download that fills the disk is UNAVAILABLE (ENOSPC), not retried as if the server were busy', async () => {
    const objects = join(suite.dir, 'enospc-objects');
    const store = await createColdStore({ module: DIR_STORE_MODULE, config: { root: objects } });
    await store.put('big', await writeRandomFile(join(suite.dir, 'big-source'), 2 * MiB));
    await store.close();
    const mount = join(suite.dir, 'tiny');
    await mkdir(mount);
    const script = join(suite.dir, 'restore-into-tiny.mjs');
    await writeFile(
      script,
      `import { TransferPool } from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)};
const pool = new TransferPool({ maxThreads: 1 });
try {
  await pool.downloadFile('big', ${JSON.stringify(join(mount, 'restored'))}, { module: ${JSON.stringify(DIR_STORE_MODULE)}, config: { root: ${JSON.stringify(objects)} } });
  console.log(JSON.stringify({ outcome: 'stored' }));
} catch (error) {
  console.log(JSON.stringify({ outcome: 'failed', cls: error.constructor.name, code: error.code, retryable: error.retryable, message: error.message }));
} finally {
  await pool.close();
}
`,
    );
    const { stdout } = await promisify(execFile)('unshare', ['-rm', 'sh', '-c', `mount -t tmpfs -o size=1m takhin-tiny "$0" && exec "$1" "$2"`, mount, process.execPath, script], {
      timeout: 60_000,
    });
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
    expect(result).toMatchObject({ outcome: 'failed', cls: 'ColdStoreError', code: 'UNAVAILABLE', retryable: false });
    expect(String(result.message)).toMatch(/ENOSPC|no space/i);
  });
});

describe('TransferPool: files that would block a thread', () => {
  it('uploads of FIFOs that have no writer, once aborted, leave the threadpool free for other file work', async () => {
    // As many stuck opens as libuv has threads would starve every file operation of the process.
    const threads = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
    const pool = new TransferPool({ maxThreads: threads, minThreads: threads });
    const suiteDir = await makeTempDir('fifo-freeze');
    const fifos = Array.from({ length: threads }, (_, i) => makeFifo(join(suiteDir, `no-writer-${i}`)));
    const target = { module: DIR_STORE_MODULE, config: { root: join(suiteDir, 'objects') } };
    const controller = new AbortController();
    const uploads = fifos.map((fifo, i) => pool.uploadFile(fifo, `fifo/${i}`, target, { signal: controller.signal }));
    for (const upload of uploads) upload.catch(() => {});
    try {
      await new Promise((resolve) => setTimeout(resolve, 500)); // every worker is now inside its upload
      controller.abort();
      const other = join(suiteDir, 'other-file');
      const work = (async () => {
        await writeFile(other, 'unrelated work');
        return readFile(other, 'utf8');
      })();
      const { settled } = await settleWithin(work, 3_000);
      expect(settled, 'a plain writeFile and readFile complete after the FIFO uploads are aborted').toBe(true);
      expect(await work).toBe('unrelated work');
      const outcomes = await Promise.allSettled(uploads.map((upload) => settleWithin(upload, 5_000)));
      expect(outcomes.every((o) => o.status === 'fulfilled' && o.value.settled), 'every aborted upload settles').toBe(true);
      for (const upload of uploads) await expect(upload).rejects.toMatchObject({ code: 'ABORTED' });
    } finally {
      // Releases opens a blocking implementation would still be stuck in, so the process can end.
      for (const fifo of fifos) {
        try {
          closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
        } catch {
          // no reader left: nothing is stuck on this one
        }
      }
      await pool.close();
      await removeDir(suiteDir);
    }
  });
});

describe("TransferPool: a thread's exit closes no descriptor it does not hold", () => {
  // A FIFO is read through a socket that owns its descriptor and closes it itself. Node's
  // tracking of a worker's fs.open descriptors did not see that close, and when the thread
  // exited (close(), an idle timeout, a terminated task) it closed that number again: by then
  // it could be any file or socket of the process (the broker's own, its metadata store's).
  it('after a FIFO upload, descriptors the main thread opened since stay open when the pool closes', async () => {
    const dir = await makeTempDir('fifo-descriptor');
    const pool = new TransferPool({ maxThreads: 1, minThreads: 1 });
    const opened: number[] = [];
    try {
      const fifo = makeFifo(join(dir, 'fifo'));
      const upload = pool.uploadFile(fifo, 'from-fifo', { module: DIR_STORE_MODULE, config: { root: join(dir, 'objects') } });
      const writer = await openFifoWriter(fifo);
      await writer.write('through a socket');
      await writer.close();
      await expect(upload).resolves.toMatchObject({ key: 'from-fifo', size: 16 });
      // Each open takes the lowest free number, so these take the one the FIFO's socket freed.
      const plain = join(dir, 'plain');
      await writeFile(plain, 'the main thread\'s file');
      for (let i = 0; i < 64; i++) opened.push(openSync(plain, 'r'));
      await pool.close();
      const closedUnderUs = opened.filter((fd) => {
        try {
          fstatSync(fd);
          return false;
        } catch {
          return true;
        }
      });
      expect(closedUnderUs, "descriptors of the main thread closed by the pool thread's exit").toEqual([]);
    } finally {
      for (const fd of opened) {
        try {
          closeSync(fd);
        } catch {
          // closed under us: the assertion above names it
        }
      }
      await pool.close();
      await removeDir(dir);
    }
  });
});
