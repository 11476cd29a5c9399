import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLD_STORE, RETRY_POLICY, createContainer, loadConfig, openTieredStorage, readLogBatchHeaders, type TieredStorage } from '@takhin/core';
import { provider as fsProvider } from '@takhin/backend-fs';
import { provider as s3Provider } from '@takhin/backend-s3';
import { TcpProxy, expectTieringError, writeSegment, type GeneratedSegment } from '@takhin/testkit';
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

async function broker(topicId: string | undefined) {
  const root = join(work, `broker-${brokers++}`);
  const dataDir = join(root, 'data');
  const old = await writePartition(dataDir, [0n, 1000n, 2000n], 500, topicId);
  const config = loadConfig({ storage: { data: { dir: dataDir }, tiered: { enabled: true } } });
  const tiered = await openTieredStorage(createContainer(config, [fsProvider]));
  opened.push(tiered);
  for (const segment of old.slice(0, 2)) await tiered.archiveSegment(segment.segmentPath);
  return { tiered, dataDir, old, coldRoot: config.storage.tiered.backends.fs!.root as string };
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
    const { tiered, dataDir, old, coldRoot } = await broker(undefined);
    expect(tiered.getSegment(old[0]!.segmentPath).topicId).toBeUndefined();
    const keys = await coldKeys(coldRoot);
    await recreate(dataDir, NEW_ID);
    await tiered.refresh();
    // Records made without an id cannot be told from the new topic's: they stay, and the doubt is reported.
    expect(tiered.lastReconciliation.deletedTopicSegments).toBe(0);
    expect(tiered.lastReconciliation.problems).toEqual([`${old[0]!.segmentPath}: local files differ from its archive (.log is ${(await readFile(join(dataDir, old[0]!.segmentPath))).length} bytes, expected ${old[0]!.logBytes}); both are kept`]);
    expect(tiered.getSegment(old[1]!.segmentPath)).toMatchObject({ policy: 'cold', isArchived: true });
    expect(await coldKeys(coldRoot)).toEqual(keys);
    // Found again by every refresh, and reported once.
    await tiered.refresh();
    expect(tiered.lastReconciliation.problems).toHaveLength(1);
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
