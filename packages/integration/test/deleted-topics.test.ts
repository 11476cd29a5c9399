import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOCK, COLD_STORE, CONFLICT_RECHECK_MS, REMOVAL_SETTLED_MS, RETRY_POLICY, STORE_METRICS, createContainer, loadConfig, openTieredStorage, readLogBatchHeaders, type TieredStorage } from '@takhin/core';
import { provider as fsProvider } from '@takhin/backend-fs';
import { provider as s3Provider } from '@takhin/backend-s3';
import { TcpProxy, expectTieringError, kafkaFixtureLogDir, writeSegment, type GeneratedSegment } from '@takhin/testkit';
import { CRASH_BACKENDS } from './fixtures/crash-suite.js';

// A topic deleted and created again under the same name: Kafka gives the new one a new topic id
// (partition.metadata) and starts its offsets again at 0, so its segments take the old one's paths.

const DAY = 24 * 3_600_000;
const TOPIC = 'orders.v1-events';
const OLD_ID = 'HShgCd_Pq0sIZAZQ3EO_2w';
const NEW_ID = 'f_Pdf1DtTfqD-mQ1riLNrw';
let work: string;
let brokers = 0;
const opened: TieredStorage[] = [];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'takhin-deleted-topics-'));
});
afterAll(async () => {
  await Promise.allSettled(opened.map((tiered) => tiered.close()));
  await rm(work, { recursive: true, force: true });
});

/** `orders.v1-events-0` with segments at `bases` (the last one active), their records of `recordBytes` each. */
async function writePartition(dataDir: string, bases: bigint[], recordBytes: number, topicId: string | undefined): Promise<GeneratedSegment[]> {
  const segments: GeneratedSegment[] = [];
  for (const [i, baseOffset] of bases.entries()) {
    segments.push(await writeSegment(dataDir, { topic: TOPIC, partition: 0, baseOffset, logBytes: 64 * 1024, recordBytes, mtime: new Date(Date.now() - (30 - i) * DAY) }));
  }
  if (topicId !== undefined) await writeFile(join(dataDir, `${TOPIC}-0`, 'partition.metadata'), `version: 0\ntopic_id: ${topicId}`);
  return segments;
}

/** The system clock, moved on by `skip` ms whenever a test says so. */
const clock = { skip: 0, now: () => Date.now() + clock.skip };

async function broker(topicId: string | undefined) {
  const root = join(work, `broker-${brokers++}`);
  const dataDir = join(root, 'data');
  const old = await writePartition(dataDir, [0n, 1000n, 2000n], 500, topicId);
  const config = loadConfig({ storage: { data: { dir: dataDir }, tiered: { enabled: true } } });
  const container = createContainer(config, [fsProvider]);
  container.register(CLOCK, { useValue: clock });
  const tiered = await openTieredStorage(container);
  opened.push(tiered);
  for (const segment of old.slice(0, 2)) await tiered.archiveSegment(segment.segmentPath);
  return { tiered, dataDir, old, coldRoot: config.storage.tiered.backends.fs!.root as string, metrics: container.resolve(STORE_METRICS) };
}

/** The topic is deleted (its folder goes) and created again with `topicId`: new segments at 0 and 500. */
async function recreate(dataDir: string, topicId: string | undefined): Promise<GeneratedSegment[]> {
  await rm(join(dataDir, `${TOPIC}-0`), { recursive: true });
  return writePartition(dataDir, [0n, 500n], 300, topicId);
}

/** Every key under the partition's folder in the FS cold store. */
async function coldKeys(coldRoot: string): Promise<string[]> {
  return (await readdir(join(coldRoot, `${TOPIC}-0`)).catch(() => [])).sort();
}

describe('a topic deleted and created again under the same name', () => {
  it("deletes the old topic's records and cold copies at the next refresh; the new topic's segments are then found, read and tiered as its own", async () => {
    const { tiered, dataDir, old, coldRoot } = await broker(OLD_ID);
    expect(tiered.getSegment(old[0]!.segmentPath)).toMatchObject({ topicId: OLD_ID, policy: 'cold', isArchived: true });
    const fresh = await recreate(dataDir, NEW_ID);
    const newLog = await readFile(fresh[0]!.files.log);

    // Before a refresh has seen it: the old topic's segment is neither read nor restored into the new topic's folder.
    const read = await expectTieringError(tiered.readAt(TOPIC, 0, 10), 'NOT_ALLOWED');
    expect(read.message).toContain(`cannot read ${old[0]!.segmentPath}: it is a segment of topic id ${OLD_ID}, a topic "${TOPIC}" since deleted; ${TOPIC}-0 is now topic id ${NEW_ID}`);
    await expectTieringError(tiered.restoreSegment(old[0]!.segmentPath), 'NOT_ALLOWED');
    expect(await readFile(fresh[0]!.files.log)).toEqual(newLog);

    await tiered.refresh();
    expect(tiered.lastReconciliation).toMatchObject({ deletedTopicSegments: 3, problems: [] });
    expect(await coldKeys(coldRoot)).toEqual([]);
    expect(tiered.listSegments({ topic: TOPIC }).map((s) => [s.path, s.topicId, s.size, s.isArchived])).toEqual([
      [fresh[0]!.segmentPath, NEW_ID, fresh[0]!.logBytes, false],
      [fresh[1]!.segmentPath, NEW_ID, fresh[1]!.logBytes, false],
    ]);
    expect(() => tiered.getSegment(old[1]!.segmentPath)).toThrow(/no segment/);

    // Offset 10 is the new topic's, from its local segment, then from its own archive.
    const expected = (await readLogBatchHeaders(fresh[0]!.files.log)).find((b) => b.header.lastOffset >= 10n)!;
    const local = await tiered.readAt(TOPIC, 0, 10);
    expect(local).toMatchObject({ source: 'local', segmentPath: fresh[0]!.segmentPath });
    expect(local.batches[0]!.header.baseOffset).toBe(expected.header.baseOffset);
    expect(await tiered.archiveSegment(fresh[0]!.segmentPath)).toMatchObject({ outcome: 'archived', segment: { topicId: NEW_ID } });
    const remote = await tiered.readAt(TOPIC, 0, 10);
    expect(remote).toMatchObject({ source: 'remote', bytes: local.bytes });
    expect(JSON.parse(await readFile(join(coldRoot, `${fresh[0]!.segmentPath}.manifest.json`), 'utf8'))).toMatchObject({ topicId: NEW_ID });
    await tiered.restoreSegment(fresh[0]!.segmentPath);
    expect(await readFile(fresh[0]!.files.log)).toEqual(newLog);
  });

  it('judges nothing without ids: a partition without partition.metadata keeps its records, whatever changed', async () => {
    const { tiered, dataDir, old, coldRoot, metrics } = await broker(undefined);
    expect(tiered.getSegment(old[0]!.segmentPath).topicId).toBeUndefined();
    const keys = await coldKeys(coldRoot);
    await recreate(dataDir, NEW_ID);
    await tiered.refresh();
    // Records made without an id cannot be told from the new topic's: they stay, and the doubt is reported.
    expect(tiered.lastReconciliation.deletedTopicSegments).toBe(0);
    expect(tiered.lastReconciliation.problems).toEqual([`${old[0]!.segmentPath}: local files differ from its archive (.log is ${(await readFile(join(dataDir, old[0]!.segmentPath))).length} bytes, expected ${old[0]!.logBytes}); both are kept`]);
    expect(tiered.getSegment(old[1]!.segmentPath)).toMatchObject({ policy: 'cold', isArchived: true });
    expect(await coldKeys(coldRoot)).toEqual(keys);
    // A restore never renames the archive over those other files: they may be the only copy of what they hold.
    const newLog = await readFile(join(dataDir, old[0]!.segmentPath));
    await expectTieringError(tiered.restoreSegment(old[0]!.segmentPath), 'NOT_ALLOWED', /other files are on local disk under its name \(\.log is \d+ bytes, expected \d+\); restoring would replace them, so they are kept/);
    expect(await readFile(join(dataDir, old[0]!.segmentPath))).toEqual(newLog);
    expect(tiered.getSegment(old[0]!.segmentPath)).toMatchObject({ policy: 'cold', isArchived: true, state: 'idle' });
    // Found again by every refresh, and reported once; while nothing changes, not looked up (nor hashed) again.
    const lookups = () => metrics.snapshot().requests.filter((r) => r.operation === 'getObject' || r.operation === 'headObject').reduce((sum, r) => sum + r.requests, 0);
    const before = lookups();
    const problems = [...tiered.lastReconciliation.problems];
    await tiered.refresh();
    expect(tiered.lastReconciliation.problems).toEqual(problems);
    expect(lookups()).toBe(before);
    // An hour on, the archive is looked at again (it could have been lost meanwhile).
    clock.skip += CONFLICT_RECHECK_MS;
    await tiered.refresh();
    const anHourOn = lookups();
    expect(anHourOn).toBeGreaterThan(before);
    expect(tiered.lastReconciliation.problems).toEqual(problems);
    await tiered.refresh();
    expect(lookups()).toBe(anHourOn);
    // Once the local files change, the segment is looked at again at once.
    await writeFile(join(dataDir, old[0]!.segmentPath), 'x');
    await tiered.refresh();
    expect(lookups()).toBeGreaterThan(anHourOn);
    expect(tiered.lastReconciliation.problems).toEqual([...problems, `${old[0]!.segmentPath}: local files differ from its archive (.log is 1 bytes, expected ${old[0]!.logBytes}); both are kept`]);
  });

  it('without ids, a restore of the old archive refuses to replace the new topic’s local segment under its name', async () => {
    const { tiered, dataDir, old, coldRoot } = await broker(undefined);
    const fresh = await recreate(dataDir, undefined);
    const newLog = await readFile(fresh[0]!.files.log);
    await tiered.refresh();
    expect(tiered.lastReconciliation.problems).toEqual([expect.stringMatching(/local files differ from its archive.*both are kept$/)]);
    const keys = await coldKeys(coldRoot);
    // Before: the restore renamed the old topic's bytes over the new topic's never-archived files.
    const refused = await expectTieringError(tiered.restoreSegment(old[0]!.segmentPath), 'NOT_ALLOWED');
    expect(refused.message).toBe(
      `cannot restore ${old[0]!.segmentPath}: other files are on local disk under its name (.log is ${newLog.length} bytes, expected ${old[0]!.logBytes}); restoring would replace them, so they are kept and the segment stays cold`,
    );
    await expectTieringError(tiered.openSegment(old[0]!.segmentPath), 'NOT_ALLOWED');
    expect(await readFile(fresh[0]!.files.log)).toEqual(newLog);
    expect(tiered.getSegment(old[0]!.segmentPath)).toMatchObject({ policy: 'cold', isArchived: true, state: 'idle' });
    expect(await coldKeys(coldRoot)).toEqual(keys);
  });

  it('gives a never-archived segment its partition’s id once the partition has one, and archives it with that id', async () => {
    const root = join(work, `broker-${brokers++}`);
    const dataDir = join(root, 'data');
    const segments = await writePartition(dataDir, [0n, 1000n], 500, undefined);
    const tiered = await openTieredStorage(createContainer(loadConfig({ storage: { data: { dir: dataDir }, tiered: { enabled: true } } }), [fsProvider]));
    opened.push(tiered);
    expect(tiered.getSegment(segments[0]!.segmentPath).topicId).toBeUndefined();
    await writeFile(join(dataDir, `${TOPIC}-0`, 'partition.metadata'), `version: 0\ntopic_id: ${NEW_ID}`);
    await tiered.refresh();
    expect(tiered.getSegment(segments[0]!.segmentPath).topicId).toBe(NEW_ID);
    expect((await tiered.archiveSegment(segments[0]!.segmentPath)).segment.topicId).toBe(NEW_ID);
  });
});

describe('a topic created again while the cold store is unreachable', () => {
  it('fails the refresh and keeps refusing the old records until the store is back, then deletes them', async () => {
    const backend = CRASH_BACKENDS.minio;
    await backend.setup!();
    const section = backend.section(brokers) as { s3: Record<string, unknown> };
    const proxy = new TcpProxy(Number(new URL(section.s3.endpoint as string).port));
    await proxy.open();
    try {
      const dataDir = join(work, `broker-${brokers++}`, 'data');
      const old = await writePartition(dataDir, [0n, 1000n, 2000n], 500, OLD_ID);
      const config = loadConfig({ storage: { data: { dir: dataDir }, tiered: { enabled: true, ...section, s3: { ...section.s3, endpoint: proxy.endpoint } } } });
      const container = createContainer(config, [fsProvider, s3Provider]);
      container.register(RETRY_POLICY, { useValue: { maxAttempts: 1 } });
      const tiered = await openTieredStorage(container);
      opened.push(tiered);
      for (const segment of old.slice(0, 2)) await tiered.archiveSegment(segment.segmentPath);
      await recreate(dataDir, NEW_ID);

      await proxy.cut();
      await expect(tiered.refresh()).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      await expectTieringError(tiered.readAt(TOPIC, 0, 1500), 'NOT_ALLOWED');
      expect(tiered.getSegment(old[1]!.segmentPath)).toMatchObject({ topicId: OLD_ID, policy: 'cold' });

      await proxy.open();
      await tiered.refresh();
      expect(tiered.lastReconciliation.deletedTopicSegments).toBe(3);
      expect(tiered.listSegments({ topic: TOPIC }).map((s) => s.topicId)).toEqual([NEW_ID, NEW_ID]);
      const left: string[] = [];
      for await (const object of container.resolve(COLD_STORE).list(`${TOPIC}-0/`)) left.push(object.key);
      expect(left).toEqual([]);
      await expectTieringError(tiered.readAt(TOPIC, 0, 1500), 'OFFSET_OUT_OF_RANGE');
    } finally {
      await proxy.cut();
    }
  });
});

// A topic deleted and not created again: its partition folders go, as a moved partition's do.
// The broker's metadata log (here the real Kafka 4.2 broker's, whose scratch-topic was deleted)
// tells them apart.
describe('a topic deleted for good, by the metadata log', () => {
  const SCRATCH = 'scratch-topic';
  /** scratch-topic's id in the fixture's metadata log, which removed it. */
  const SCRATCH_ID = 'uh-HFFzARr2s5Hq4ilFAIA';

  /** The real broker's log dir with scratch-topic-0 back on disk (3 segments, 2 archived), and `extra` done before open. */
  async function kafkaBroker(extra: (dataDir: string) => Promise<void> = async () => {}) {
    const dataDir = join(work, `broker-${brokers++}`, 'data');
    await cp(kafkaFixtureLogDir(), dataDir, { recursive: true });
    const scratch: GeneratedSegment[] = [];
    for (const [i, baseOffset] of [0n, 1000n, 2000n].entries()) {
      scratch.push(await writeSegment(dataDir, { topic: SCRATCH, partition: 0, baseOffset, logBytes: 64 * 1024, recordBytes: 500, mtime: new Date(Date.now() - (30 - i) * DAY) }));
    }
    await writeFile(join(dataDir, `${SCRATCH}-0`, 'partition.metadata'), `version: 0\ntopic_id: ${SCRATCH_ID}`);
    await extra(dataDir);
    const config = loadConfig({ storage: { data: { dir: dataDir }, tiered: { enabled: true } } });
    const tiered = await openTieredStorage(createContainer(config, [fsProvider]));
    opened.push(tiered);
    for (const segment of scratch.slice(0, 2)) await tiered.archiveSegment(segment.segmentPath);
    const payments = tiered.listSegments({ topic: 'payments' }).filter((s) => !s.isArchived).slice(0, 2);
    for (const segment of payments) await tiered.archiveSegment(segment.path);
    return { tiered, dataDir, scratch, payments, coldRoot: config.storage.tiered.backends.fs!.root as string };
  }

  const cold = async (coldRoot: string, partition: string) => (await readdir(join(coldRoot, partition)).catch(() => [])).sort();

  it("deletes a removed topic's records and cold copies once its folder is gone, and keeps a partition that moved to another broker", async () => {
    const { tiered, dataDir, scratch, payments, coldRoot } = await kafkaBroker();
    expect(await cold(coldRoot, `${SCRATCH}-0`)).toHaveLength(8);
    expect(tiered.listSegments({ topic: SCRATCH }).map((s) => s.topicId)).toEqual([SCRATCH_ID, SCRATCH_ID, SCRATCH_ID]);
    const paymentsKeys = await cold(coldRoot, 'payments-0');
    expect(paymentsKeys.length).toBeGreaterThanOrEqual(8);

    // Kafka deletes scratch-topic's folder; payments-0 moves to another broker (its topic still exists).
    // Every record of scratch-topic goes: the archived ones with their cold copies, the active one's with nothing to delete.
    await rm(join(dataDir, `${SCRATCH}-0`), { recursive: true });
    await rm(join(dataDir, 'payments-0'), { recursive: true });
    await tiered.refresh();
    expect(tiered.lastReconciliation).toMatchObject({ deletedTopicSegments: 3, problems: [] });
    expect(await cold(coldRoot, `${SCRATCH}-0`)).toEqual([]);
    expect(() => tiered.getSegment(scratch[0]!.segmentPath)).toThrow(/no segment/);
    expect(tiered.listSegments({ topic: SCRATCH })).toEqual([]);
    // The moved partition's archives are still its topic's, and still read.
    expect(await cold(coldRoot, 'payments-0')).toEqual(paymentsKeys);
    expect(tiered.listSegments({ topic: 'payments' }).map((s) => [s.path, s.policy, s.isArchived])).toEqual(payments.map((s) => [s.path, 'cold', true]));
    expect(await tiered.readAt('payments', 0, payments[0]!.baseOffset)).toMatchObject({ source: 'remote', segmentPath: payments[0]!.path });
    await tiered.refresh();
    expect(tiered.lastReconciliation).toMatchObject({ deletedTopicSegments: 3, problems: [] });
  });

  it('judges nothing by a metadata log that lacks a topic of the data dir, and says so', async () => {
    const { tiered, dataDir, scratch, coldRoot } = await kafkaBroker(async (dir) => {
      await writeSegment(dir, { topic: 'ghost', partition: 0, baseOffset: 0n, logBytes: 4096, recordBytes: 500 });
      await writeFile(join(dir, 'ghost-0', 'partition.metadata'), `version: 0\ntopic_id: ${OLD_ID}`);
    });
    await rm(join(dataDir, `${SCRATCH}-0`), { recursive: true });
    await tiered.refresh();
    expect(tiered.lastReconciliation.deletedTopicSegments).toBe(0);
    expect(tiered.lastReconciliation.problems).toEqual([
      `the segments of partitions gone from the data dir are kept: the metadata log (__cluster_metadata-0) does not hold topic "ghost" (id ${OLD_ID}) of this data dir; until it does, no segment of a partition gone from this broker is taken for a deleted topic's`,
    ]);
    expect(tiered.getSegment(scratch[1]!.segmentPath)).toMatchObject({ policy: 'cold', isArchived: true });
    expect(await cold(coldRoot, `${SCRATCH}-0`)).toHaveLength(8);
  });

  it('judges no segment written after the metadata log’s last record: a stale log cannot know its topic', async () => {
    // The fixture's metadata log stands for one left in the data dir when metadata.log.dir moved
    // elsewhere: it holds every topic on the disk, but not late-topic, created after it ended.
    const dataDir = join(work, `broker-${brokers++}`, 'data');
    await cp(kafkaFixtureLogDir(), dataDir, { recursive: true });
    const LATE = 'late-topic';
    const LATE_ID = Buffer.from('late-topic-id-16').toString('base64url');
    const late: GeneratedSegment[] = [];
    // Written a day after the log's last record (2026-11-25T21:49:23.957Z).
    const mtime = new Date('2026-11-26T21:49:24.000Z');
    for (const baseOffset of [0n, 1000n]) late.push(await writeSegment(dataDir, { topic: LATE, partition: 0, baseOffset, logBytes: 64 * 1024, recordBytes: 500, mtime }));
    await writeFile(join(dataDir, `${LATE}-0`, 'partition.metadata'), `version: 0\ntopic_id: ${LATE_ID}`);
    const config = loadConfig({ storage: { data: { dir: dataDir }, tiered: { enabled: true } } });
    const tiered = await openTieredStorage(createContainer(config, [fsProvider]));
    opened.push(tiered);
    await tiered.archiveSegment(late[0]!.segmentPath);
    const coldRoot = config.storage.tiered.backends.fs!.root as string;
    const keys = await cold(coldRoot, `${LATE}-0`);
    expect(keys).toHaveLength(4);

    // late-topic-0 moves to another broker: its topic still exists, whatever the stale log says.
    await rm(join(dataDir, `${LATE}-0`), { recursive: true });
    await tiered.refresh();
    expect(tiered.lastReconciliation.deletedTopicSegments).toBe(0);
    expect(tiered.lastReconciliation.problems).toEqual([
      expect.stringMatching(
        /^the segments of partitions gone from the data dir are kept: the metadata log \(__cluster_metadata-0\) ends before late-topic-0\/00000000000000000000\.log was last written; until it has a later record, no segment written after its end is taken for a deleted topic's$/,
      ),
    ]);
    expect(tiered.getSegment(late[0]!.segmentPath)).toMatchObject({ policy: 'cold', isArchived: true, topicId: LATE_ID });
    expect(await cold(coldRoot, `${LATE}-0`)).toEqual(keys);
  });

  it('with no partition left on the disk to check the log by, takes only a removal the log still records', async () => {
    // A data dir holding nothing but scratch-topic-0 and the broker's metadata log.
    const dataDir = join(work, `broker-${brokers++}`, 'data');
    await cp(join(kafkaFixtureLogDir(), '__cluster_metadata-0'), join(dataDir, '__cluster_metadata-0'), { recursive: true });
    const scratch: GeneratedSegment[] = [];
    for (const baseOffset of [0n, 1000n]) scratch.push(await writeSegment(dataDir, { topic: SCRATCH, partition: 0, baseOffset, logBytes: 64 * 1024, recordBytes: 500 }));
    await writeFile(join(dataDir, `${SCRATCH}-0`, 'partition.metadata'), `version: 0\ntopic_id: ${SCRATCH_ID}`);
    const config = loadConfig({ storage: { data: { dir: dataDir }, tiered: { enabled: true } } });
    const tiered = await openTieredStorage(createContainer(config, [fsProvider]));
    opened.push(tiered);
    await tiered.archiveSegment(scratch[0]!.segmentPath);
    const coldRoot = config.storage.tiered.backends.fs!.root as string;
    await rm(join(dataDir, `${SCRATCH}-0`), { recursive: true });

    // The latest snapshot no longer holds scratch-topic, but nothing on the disk vouches for the log: the
    // archived segment is kept (the active one, never archived, is simply gone from the records, as always).
    await tiered.refresh();
    expect(tiered.lastReconciliation).toMatchObject({ deletedTopicSegments: 0, problems: [] });
    expect(tiered.listSegments({ topic: SCRATCH }).map((s) => s.path)).toEqual([scratch[0]!.segmentPath]);
    expect(tiered.getSegment(scratch[0]!.segmentPath)).toMatchObject({ policy: 'cold', isArchived: true });

    // Without the snapshots taken after it, the log itself records the RemoveTopicRecord (offset 60)...
    const metadata = join(dataDir, '__cluster_metadata-0');
    for (const name of await readdir(metadata)) if (name.endsWith('.checkpoint') && name !== '00000000000000000018-0000000001.checkpoint') await rm(join(metadata, name));
    // ...but while the log ends within REMOVAL_SETTLED_MS of it, the removal may be one its controller never committed: kept.
    const log = join(metadata, '00000000000000000000.log');
    const whole = await readFile(log);
    const batches = await readLogBatchHeaders(log);
    const removal = batches.find((b) => b.header.lastOffset >= 60n)!;
    const soonAfter = batches.filter((b) => b.header.maxTimestamp - removal.header.maxTimestamp < BigInt(REMOVAL_SETTLED_MS)).at(-1)!;
    await writeFile(log, whole.subarray(0, soonAfter.position + soonAfter.header.sizeInBytes));
    await tiered.refresh();
    expect(tiered.lastReconciliation).toMatchObject({ deletedTopicSegments: 0, problems: [] });
    expect(tiered.getSegment(scratch[0]!.segmentPath)).toMatchObject({ policy: 'cold', isArchived: true });
    // The log goes on past it (here, as the broker left it): deleted.
    await writeFile(log, whole);
    await tiered.refresh();
    expect(tiered.lastReconciliation).toMatchObject({ deletedTopicSegments: 1, problems: [] });
    expect(await cold(coldRoot, `${SCRATCH}-0`)).toEqual([]);
    expect(tiered.listSegments({ topic: SCRATCH })).toEqual([]);
  });

  it('judges nothing by a metadata log that cannot be read whole, and says why', async () => {
    const { tiered, dataDir, scratch, coldRoot } = await kafkaBroker();
    // A byte of the log's last batch (after the latest snapshot) rots.
    const log = join(dataDir, '__cluster_metadata-0', '00000000000000000000.log');
    const last = (await readLogBatchHeaders(log)).at(-1)!;
    const bytes = await readFile(log);
    const at = last.position + last.header.sizeInBytes - 1;
    bytes[at] = bytes[at]! ^ 0xff;
    await writeFile(log, bytes);
    await rm(join(dataDir, `${SCRATCH}-0`), { recursive: true });
    await tiered.refresh();
    expect(tiered.lastReconciliation.deletedTopicSegments).toBe(0);
    expect(tiered.lastReconciliation.problems).toHaveLength(1);
    expect(tiered.lastReconciliation.problems[0]).toMatch(/^the segments of partitions gone from the data dir are kept: the metadata log cannot be read \(.*00000000000000000000\.log.*CRC-32C mismatch/);
    expect(tiered.getSegment(scratch[0]!.segmentPath)).toMatchObject({ policy: 'cold', isArchived: true });
    expect(await cold(coldRoot, `${SCRATCH}-0`)).toHaveLength(8);
  });

  it('judges nothing by a snapshot cut short at a batch boundary: without its footer it may lack topics', async () => {
    const { tiered, dataDir, scratch, coldRoot } = await kafkaBroker();
    // The latest snapshot loses its last batch, the footer: every batch left is whole, but a
    // snapshot of more topics would have lost some of them the same way.
    const snapshot = join(dataDir, '__cluster_metadata-0', '00000000000000000109-0000000001.checkpoint');
    const footer = (await readLogBatchHeaders(snapshot)).at(-1)!;
    expect(footer.header.isControl).toBe(true);
    await writeFile(snapshot, (await readFile(snapshot)).subarray(0, footer.position));
    await rm(join(dataDir, `${SCRATCH}-0`), { recursive: true });
    await tiered.refresh();
    expect(tiered.lastReconciliation.deletedTopicSegments).toBe(0);
    expect(tiered.lastReconciliation.problems).toEqual([
      expect.stringMatching(/^the segments of partitions gone from the data dir are kept: the metadata log cannot be read \(.*00000000000000000109-0000000001\.checkpoint.*does not end with its footer/),
    ]);
    expect(tiered.getSegment(scratch[0]!.segmentPath)).toMatchObject({ policy: 'cold', isArchived: true });
    expect(await cold(coldRoot, `${SCRATCH}-0`)).toHaveLength(8);
  });
});
