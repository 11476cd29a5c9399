import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataDirLock, LOCK_FILE } from '@takhin/core';
import { makeTempDir, removeDir } from './fixtures/local-files.js';

const TAKER = new URL('./fixtures/stalled-lock-taker.mjs', import.meta.url);
/** How a taker's own file beside the lock is named: `<LOCK_FILE>.<pid>.<uuid>.<host>`. */
const attemptFileOf = (pid: number) => new RegExp(`^\\.takhin-tiered\\.lock\\.${pid}\\.[0-9a-f-]{36}\\.[A-Za-z0-9._-]+$`);

const children: ChildProcess[] = [];

/** A lock taker in a child process, stopped for good at `stallAt` (fixtures/stalled-lock-taker.mjs); resolves once it is there. */
async function stalledTaker(dataDir: string, stallAt: 'link' | 'rename'): Promise<ChildProcess> {
  const child = spawn(process.execPath, [TAKER.pathname, dataDir, stallAt], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the taker never stalled: ${output}`)), 20_000);
    const done = (error?: Error) => {
      clearTimeout(timer);
      if (error) reject(error);
      else resolve();
    };
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(`stalled at ${stallAt}\n`)) done();
    });
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => done(new Error(`the taker exited (${code}) before it stalled: ${output}`)));
  });
  child.removeAllListeners('exit');
  return child;
}

/** Kills `child` with SIGKILL, as a crash would, and waits until it is gone. */
async function killHard(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/** The number of a process that ran and ended. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

describe('DataDirLock leftovers of takers that died', () => {
  let work: string;
  let dirs = 0;
  const freshDir = async () => {
    const dir = join(work, `data-${dirs++}`);
    await mkdir(dir);
    return dir;
  };

  beforeAll(async () => {
    work = await makeTempDir('data-dir-lock');
  });
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await removeDir(work);
  });

  it('a taker killed (SIGKILL) after writing its draft and before linking it leaves the draft; the next taker removes it, never while its taker runs', async () => {
    const dataDir = await freshDir();
    const taker = await stalledTaker(dataDir, 'link');
    const [draft] = await readdir(dataDir);
    expect(draft).toMatch(attemptFileOf(taker.pid!));
    expect(JSON.parse(await readFile(join(dataDir, draft!), 'utf8'))).toMatchObject({ pid: taker.pid, host: hostname() });

    // The taker still runs: its draft is in use, so a lock taken meanwhile leaves it alone.
    const meanwhile = await DataDirLock.acquire(dataDir);
    expect((await readdir(dataDir)).sort()).toEqual([LOCK_FILE, draft].sort());
    await meanwhile.release();
    expect(await readdir(dataDir)).toEqual([draft]);

    await killHard(taker);
    expect(await readdir(dataDir), 'the dead taker left its draft').toEqual([draft]);
    const lock = await DataDirLock.acquire(dataDir);
    expect(await readdir(dataDir), 'the next taker removed it').toEqual([LOCK_FILE]);
    expect(JSON.parse(await readFile(join(dataDir, LOCK_FILE), 'utf8'))).toMatchObject({ pid: process.pid });
    await lock.release();
    expect(await readdir(dataDir)).toEqual([]);
  });

  it("a taker killed just after moving a dead owner's lock aside leaves it there; the next taker takes the lock and removes it", async () => {
    const dataDir = await freshDir();
    const deadOwner = `${JSON.stringify({ pid: await deadPid(), host: hostname(), startedAt: new Date(0).toISOString() })}\n`;
    await writeFile(join(dataDir, LOCK_FILE), deadOwner);
    const taker = await stalledTaker(dataDir, 'rename');
    const [aside] = await readdir(dataDir);
    expect(aside).toMatch(attemptFileOf(taker.pid!));
    expect(await readFile(join(dataDir, aside!), 'utf8')).toBe(deadOwner);
    await killHard(taker);

    const lock = await DataDirLock.acquire(dataDir);
    expect(await readdir(dataDir)).toEqual([LOCK_FILE]);
    expect(JSON.parse(await readFile(join(dataDir, LOCK_FILE), 'utf8'))).toMatchObject({ pid: process.pid });
    await lock.release();
  });

  it("keeps what it cannot prove dead: another machine's attempt files, ones named before the host was until an hour old, this process's, and other files", async () => {
    const dataDir = await freshDir();
    const dead = await deadPid();
    const kept = [
      `${LOCK_FILE}.${dead}.${randomUUID()}.another-host.example`,
      `${LOCK_FILE}.${dead}.${randomUUID()}`,
      `${LOCK_FILE}.${process.pid}.${randomUUID()}.${hostname().replace(/[^A-Za-z0-9._-]/g, '_')}`,
      `${LOCK_FILE}.notes`,
      `${LOCK_FILE}.0.${randomUUID()}.${hostname().replace(/[^A-Za-z0-9._-]/g, '_')}`,
    ];
    const removed = `${LOCK_FILE}.${dead}.${randomUUID()}.${hostname().replace(/[^A-Za-z0-9._-]/g, '_')}`;
    for (const name of [...kept, removed]) await writeFile(join(dataDir, name), '');
    const lock = await DataDirLock.acquire(dataDir);
    expect((await readdir(dataDir)).sort()).toEqual([LOCK_FILE, ...kept].sort());
    await lock.release();
  });

  it('leaves every file alone when the lock is held by a live process', async () => {
    const dataDir = await freshDir();
    const holder = await stalledTaker(await freshDir(), 'link'); // a live process to name as the holder
    await writeFile(join(dataDir, LOCK_FILE), `${JSON.stringify({ pid: holder.pid, host: hostname(), startedAt: new Date().toISOString() })}\n`);
    const leftover = `${LOCK_FILE}.${await deadPid()}.${randomUUID()}.${hostname().replace(/[^A-Za-z0-9._-]/g, '_')}`;
    await writeFile(join(dataDir, leftover), '');
    await expect(DataDirLock.acquire(dataDir)).rejects.toMatchObject({ code: 'DATA_DIR_LOCKED', message: expect.stringContaining(`in use by process ${holder.pid}`) });
    expect((await readdir(dataDir)).sort()).toEqual([LOCK_FILE, leftover].sort());
    await killHard(holder);
  });
});
