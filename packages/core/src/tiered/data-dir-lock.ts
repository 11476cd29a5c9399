import { hostname } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { link, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { TieringError } from '../errors/tiering-error.js';

/** Who holds a data dir: written into its lock file, so another process can say who, or find them. */
export interface DataDirOwner {
  readonly pid: number;
  readonly host: string;
  readonly startedAt: string;
  /** Anything the owner wants others to know (the console writes its `listen` address). */
  readonly [key: string]: unknown;
}

export const LOCK_FILE = '.takhin-tiered.lock';

/**
 * A taker's own file beside the lock, named `<LOCK_FILE>.<pid>.<uuid>.<host>`: a draft of its
 * lock, or a dead owner's lock moved aside. It lives for the few system calls of one attempt;
 * a taker that dies in between (SIGKILL, power cut) leaves it, and the next taker removes it
 * (`removeLeftovers`). Files named before the host was (`<LOCK_FILE>.<pid>.<uuid>`) match too.
 */
const ATTEMPT_FILE = /^\.takhin-tiered\.lock\.(\d{1,10})\.([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?:\.([A-Za-z0-9._-]{1,100}))?$/;

/**
 * An attempt file named without its host is another's only once it is this old: the name does
 * not say which machine's process made it, and one still in use is milliseconds old.
 */
const UNNAMED_HOST_LEFTOVER_MS = 3_600_000;

/**
 * One process tiers a data dir at a time: two would race on the same segments and each keep an
 * index the other cannot see. The lock is a file created exclusively in the data dir (a file, so
 * Kafka ignores it); one left by a process that is gone is taken over.
 */
export class DataDirLock {
  private constructor(
    readonly path: string,
    readonly owner: DataDirOwner,
  ) {}

  static async acquire(dataDir: string, details: Record<string, unknown> = {}): Promise<DataDirLock> {
    const path = join(dataDir, LOCK_FILE);
    const owner: DataDirOwner = { ...details, pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
    for (let attempt = 0; attempt < 3; attempt++) {
      const created = await createWith(path, `${JSON.stringify(owner)}\n`).then(
        () => true,
        (error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT') throw new TieringError('METADATA_FAILURE', `the data dir ${dataDir} does not exist`, undefined, { cause: error });
          if (error.code !== 'EEXIST') throw error;
          return false;
        },
      );
      if (created) {
        await removeLeftovers(dataDir);
        return new DataDirLock(path, owner);
      }
      const text = await readFile(path, 'utf8').catch(() => undefined);
      const holder = ownerIn(text);
      if (holder !== undefined && isAlive(holder)) {
        throw new TieringError(
          'DATA_DIR_LOCKED',
          `the data dir ${dataDir} is in use by process ${holder.pid} on ${holder.host} since ${holder.startedAt}${typeof holder.listen === 'string' ? ` (its console listens on ${holder.listen})` : ''}`,
        );
      }
      // Left by a process that died: take it over.
      await removeIfStill(path, text);
    }
    throw new TieringError('DATA_DIR_LOCKED', `could not lock the data dir ${dataDir}: its lock file keeps reappearing`);
  }

  async release(): Promise<void> {
    const holder = await readFile(this.path, 'utf8').catch(() => '');
    if (holder.includes(`"pid":${this.owner.pid},`)) await unlink(this.path).catch(() => {});
  }
}

/**
 * Creates `path` holding `text`, or fails with EEXIST; it never exists without its text. Created
 * empty and then written, a lock read in between names no owner and looks left by a crash, so a
 * second process starting at that moment would take it over and both would hold the data dir.
 * So the text goes into a file of this attempt's own, which is then linked into place.
 */
async function createWith(path: string, text: string): Promise<void> {
  const draft = attemptFile(path);
  const handle = await open(draft, 'wx');
  try {
    await handle.writeFile(text);
    await handle.sync();
    await handle.close();
    await link(draft, path);
  } finally {
    await handle.close().catch(() => {});
    await unlink(draft).catch(() => {});
  }
}

/**
 * Removes the lock at `path` if it still holds `text` (a dead owner's). Another process that
 * found the same dead lock may have replaced it by its own since: unlinked blindly, that one's
 * would go and both would hold the data dir. So the lock is first moved aside (atomically, one
 * taker wins) and, when it is not the dead one's, linked back.
 */
async function removeIfStill(path: string, text: string | undefined): Promise<void> {
  const aside = attemptFile(path);
  try {
    await rename(path, aside);
  } catch {
    return; // gone already: whoever removed it tries to create theirs, as this process will
  }
  try {
    if ((await readFile(aside, 'utf8').catch(() => undefined)) !== text) await link(aside, path).catch(() => {});
  } finally {
    await unlink(aside).catch(() => {});
  }
}

/** A new file of this attempt's own beside the lock at `path` (see `ATTEMPT_FILE`). */
function attemptFile(path: string): string {
  return `${path}.${process.pid}.${randomUUID()}.${hostTag()}`;
}

/** This machine's name as attempt files carry it: only characters a file name takes anywhere. */
function hostTag(): string {
  return hostname().replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100) || '_';
}

/**
 * Removes the attempt files (`ATTEMPT_FILE`) takers that died left in `dataDir`: each of a
 * process of this machine that no longer runs. Called by the lock's new holder, so no dead
 * owner's lock is being taken over meanwhile. Never removes a live process's: its draft would
 * vanish before its link (the attempt fails, never a second holder, but for no reason), and
 * its dead owner's lock moved aside before it links it back when another took the lock over
 * first, which would leave that other holder without its lock file. So a file stays when its
 * process runs (or its number was reused: kept until that one ends too), when it is another
 * machine's (a data dir on a shared filesystem: its processes cannot be seen from here), and,
 * named without its host, until it is an hour old. Best effort: a failure to list or remove
 * leaves the file for the next holder and never fails the lock.
 */
async function removeLeftovers(dataDir: string): Promise<void> {
  const names = await readdir(dataDir).catch(() => [] as string[]);
  const host = hostTag();
  for (const name of names) {
    const match = ATTEMPT_FILE.exec(name);
    if (!match) continue;
    const pid = Number(match[1]);
    const named = match[3];
    if (!(pid > 0 && pid <= 2 ** 31 - 1)) continue; // no process's number: not a taker's file
    if (named !== undefined && named !== host) continue;
    if (isAlive({ pid, host: hostname(), startedAt: '' })) continue;
    const file = join(dataDir, name);
    if (named === undefined) {
      const stats = await stat(file).catch(() => undefined);
      if (stats === undefined || Date.now() - Math.max(stats.ctimeMs, stats.mtimeMs) < UNNAMED_HOST_LEFTOVER_MS) continue;
    }
    await unlink(file).catch(() => {});
  }
}

/** Who holds the data dir's lock, if anyone wrote one (alive or not). */
export async function readDataDirOwner(dataDir: string): Promise<DataDirOwner | undefined> {
  return ownerIn(await readFile(join(dataDir, LOCK_FILE), 'utf8').catch(() => undefined));
}

/** The owner a lock file names; none for one cut short by a crash or not written by this library. */
function ownerIn(text: string | undefined): DataDirOwner | undefined {
  try {
    const owner = text === undefined ? undefined : (JSON.parse(text) as Partial<DataDirOwner> | null);
    return typeof owner?.pid === 'number' && typeof owner.host === 'string' ? (owner as DataDirOwner) : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(owner: DataDirOwner): boolean {
  if (owner.host !== hostname()) return true; // another machine's process: cannot tell, so assume it runs
  if (owner.pid === process.pid) return true;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
