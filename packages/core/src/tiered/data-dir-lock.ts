import { hostname } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { link, open, readFile, rename, unlink } from 'node:fs/promises';
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
      try {
        await createWith(path, `${JSON.stringify(owner)}\n`);
        return new DataDirLock(path, owner);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          throw new TieringError('METADATA_FAILURE', `the data dir ${dataDir} does not exist`, undefined, { cause: error });
        }
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
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
  const draft = `${path}.${process.pid}.${randomUUID()}`;
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
  const aside = `${path}.${process.pid}.${randomUUID()}`;
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
