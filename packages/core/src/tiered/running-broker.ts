import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { PlanItem } from '../policy/tier-plan.js';

// A running Apache Kafka broker holds a lock on its log dir's `.lock` (`LogManager`) and keeps
// every segment of its log open. Deleting a closed segment's files under it halts it later,
// when its retention, log cleaner or a topic deletion renames the missing `.log`
// (docs/ARCHITECTURE.md, "Beside a running Apache Kafka broker"). So while one runs, archives
// keep the local files and evicts are refused: the broker's own retention deletes them.

/** The file a Kafka broker locks in each of its log dirs while it runs. */
export const KAFKA_LOCK_FILE = '.lock';

/** Another process holding the log dir's Kafka lock. */
export interface RunningBroker {
  /** Its process id; undefined for an open-file-description lock, which names none. */
  readonly pid: number | undefined;
}

/**
 * The process other than this one that holds a lock on `<dataDir>/.lock`, by `/proc/locks`
 * (Linux): a running Kafka broker. Undefined when there is no `.lock`, no lock on it, or no
 * `/proc` to ask. A broker that embeds this library in its own process is not "another".
 */
export async function runningBroker(dataDir: string): Promise<RunningBroker | undefined> {
  const file = await stat(join(dataDir, KAFKA_LOCK_FILE), { bigint: true }).catch(() => undefined);
  if (file === undefined) return undefined;
  const locks = await readFile('/proc/locks', 'latin1').catch(() => '');
  // The kernel names the locked file `<major>:<minor>:<inode>`, the device numbers in hex.
  const dev = file.dev;
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  const id = `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}:${file.ino}`;
  for (const line of locks.split('\n')) {
    // `1: POSIX  ADVISORY  WRITE 1234 fe:00:9986070 0 EOF`; a waiter's line has `->` after the number.
    const fields = line.trim().split(/\s+/);
    if (fields[1] === '->' || fields[5] !== id) continue;
    const pid = Number(fields[4]);
    if (pid === process.pid) continue;
    return { pid: pid > 0 ? pid : undefined };
  }
  return undefined;
}

/** Why local files are kept while `broker` runs: for messages and plans. */
export function describeRunningBroker(dataDir: string, broker: RunningBroker): string {
  const who = broker.pid === undefined ? 'a running Kafka broker' : `a running Kafka broker (pid ${broker.pid})`;
  return `${who} holds the log dir ${dataDir} (its ${KAFKA_LOCK_FILE}), and deleting a segment's files under it halts it once its retention, log cleaner or a topic deletion reaches that segment; its own retention deletes them, or evict once it is stopped`;
}

/**
 * A cycle's step as it goes while `broker` (as of the last refresh) runs on the data dir: an
 * archive keeps the local files, and an evict does not happen.
 */
export function stepBesideBroker(item: PlanItem, dataDir: string, broker: RunningBroker | undefined): PlanItem {
  if (broker === undefined || (item.action !== 'archive' && item.action !== 'evict')) return item;
  const reason = `${item.reason}; local files kept: ${describeRunningBroker(dataDir, broker)}`;
  return { ...item, to: item.from, action: item.action === 'evict' ? 'none' : 'archive', reason };
}
