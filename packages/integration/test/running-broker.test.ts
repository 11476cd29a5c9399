import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTOCOL_OBSERVER, createContainer, loadConfig, openTieredStorage, runningBroker, type TieredStorage } from '@takhin/core';
import { provider as fsProvider } from '@takhin/backend-fs';
import { expectTieringError, writeSegment, type GeneratedSegment } from '@takhin/testkit';

// A running Kafka broker holds a lock on its log dir's `.lock` and keeps its segments open:
// deleting a segment's files under it halts it later. Here another process (util-linux's
// `flock`) holds that lock, as the broker's JVM does.

const DAY = 24 * 3_600_000;
const TOPIC = 'orders.v1-events';
let work: string;
let brokers = 0;
const opened: TieredStorage[] = [];
const locks: ChildProcess[] = [];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'takhin-running-broker-'));
});
afterAll(async () => {
  for (const lock of locks) lock.stdin?.end();
  await Promise.allSettled(opened.map((tiered) => tiered.close()));
  await rm(work, { recursive: true, force: true });
});

/** Another process holding `<dataDir>/.lock` until its stdin ends (`-o`: `cat` does not share the lock). */
async function holdKafkaLock(dataDir: string): Promise<ChildProcess> {
  const lock = spawn('flock', ['-o', join(dataDir, '.lock'), 'cat'], { stdio: ['pipe', 'ignore', 'ignore'] });
  locks.push(lock);
  for (let i = 0; i < 250 && (await runningBroker(dataDir)) === undefined; i++) await sleep(20);
  return lock;
}

async function release(lock: ChildProcess): Promise<void> {
  const exited = once(lock, 'exit');
  lock.stdin!.end();
  await exited;
}

/** Three segments of one partition, a month old, and tiered storage opened on them. */
async function broker(observer?: (step: string) => void) {
  const dataDir = join(work, `broker-${brokers++}`, 'data');
  const segments: GeneratedSegment[] = [];
  for (let i = 0; i < 3; i++) {
    segments.push(await writeSegment(dataDir, { topic: TOPIC, partition: 0, baseOffset: BigInt(i * 1000), logBytes: 64 * 1024, mtime: new Date(Date.now() - (30 - i) * DAY) }));
  }
  await writeFile(join(dataDir, '.lock'), '');
  const container = createContainer(loadConfig({ storage: { data: { dir: dataDir }, tiered: { enabled: true } } }), [fsProvider]);
  if (observer) container.register(PROTOCOL_OBSERVER, { useValue: { reached: (step: string) => observer(step) } });
  const tiered = await openTieredStorage(container);
  opened.push(tiered);
  return { tiered, dataDir, segments };
}

describe('beside a running Kafka broker (another process holds the log dir’s .lock)', () => {
  it('archives without deleting the local files, never evicts, and leaves the deletes to the broker’s retention', async () => {
    const { tiered, dataDir, segments } = await broker();
    const [first, second] = [segments[0]!, segments[1]!];
    const bytes = await readFile(first.files.log);
    const lock = await holdKafkaLock(dataDir);
    expect(await runningBroker(dataDir)).toEqual({ pid: lock.pid });

    const archived = await tiered.archiveSegment(first.segmentPath);
    expect(archived).toMatchObject({ outcome: 'archived', segment: { isArchived: true, policy: tiered.getSegment(second.segmentPath).policy } });
    expect(archived.localFilesKept).toContain(`a running Kafka broker (pid ${lock.pid}) holds the log dir ${dataDir} (its .lock)`);
    expect(await readFile(first.files.log)).toEqual(bytes);
    const evict = await expectTieringError(tiered.evictSegment(first.segmentPath), 'NOT_ALLOWED');
    expect(evict.message).toContain(`pid ${lock.pid}`);
    expect(await readFile(first.files.log)).toEqual(bytes);

    // A cycle archives the rest, keeping their files too, and plans no evict.
    await tiered.refresh();
    const report = await tiered.runCycle();
    expect(report).toMatchObject({ failed: 0, evicted: 0 });
    expect(tiered.getSegment(second.segmentPath)).toMatchObject({ isArchived: true });
    expect(tiered.listSegments({ topic: TOPIC }).every((segment) => segment.policy !== 'cold')).toBe(true);
    const kept = tiered.plan().find((item) => item.path === first.segmentPath)!;
    expect(kept).toMatchObject({ action: 'none', to: kept.from, reason: expect.stringContaining('local files kept: a running Kafka broker') });

    // The broker's retention deletes a segment: it is cold, and read from its archive.
    for (const file of Object.values(first.files)) await unlink(file);
    await tiered.refresh();
    expect(tiered.getSegment(first.segmentPath).policy).toBe('cold');
    expect(await tiered.readAt(TOPIC, 0, 10)).toMatchObject({ source: 'remote', segmentPath: first.segmentPath });

    // Once the broker stops, evicting is allowed again.
    await release(lock);
    expect(await runningBroker(dataDir)).toBeUndefined();
    await tiered.refresh();
    expect(tiered.plan().find((item) => item.path === second.segmentPath)).toMatchObject({ action: 'evict' });
    expect(await tiered.evictSegment(second.segmentPath)).toMatchObject({ outcome: 'evicted' });
  });

  it('finishes an archive interrupted before its deletes by keeping the files, local and archived', async () => {
    let crash = true;
    const { tiered, dataDir, segments } = await broker((step) => {
      if (crash && step === 'archive:committed') throw new Error('crashed after the commit');
    });
    const first = segments[0]!;
    await expect(tiered.archiveSegment(first.segmentPath)).rejects.toThrow('crashed after the commit');
    crash = false;
    expect(tiered.getSegment(first.segmentPath)).toMatchObject({ policy: 'cold', isArchived: true });
    const lock = await holdKafkaLock(dataDir);
    await tiered.refresh();
    expect(tiered.getSegment(first.segmentPath)).toMatchObject({ policy: 'warm', isArchived: true });
    expect(tiered.lastReconciliation.localCopiesDeleted).toBe(0);
    expect((await readFile(first.files.log)).length).toBe(first.logBytes);
    await release(lock);
  });
});
