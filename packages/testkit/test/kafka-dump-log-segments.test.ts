import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  OffsetIndex,
  TimeIndex,
  decodeRecords,
  parsePartitionDirName,
  parseProducerSnapshot,
  parseSegmentFileName,
  parseTransactionIndex,
  readClusterTopics,
  readLogBatchHeaders,
  CLUSTER_METADATA_DIR,
} from '@takhin/core';
import { kafkaFixtureLogDir, runDumpLogSegments, writeBrokerLogDir, writeSegment, type BrokerLogDirManifest, type DumpedFile } from '@takhin/testkit';

// Apache Kafka's own checker, kafka.tools.DumpLogSegments, run on the JVM (jars cached by
// scripts/kafka-tools): it must accept what our generator writes, and read the real fixture
// exactly as our TypeScript readers do.

let work: string;
let stopped: BrokerLogDirManifest;
let running: BrokerLogDirManifest;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'takhin-dump-log-segments-'));
  stopped = await writeBrokerLogDir(join(work, 'stopped'), { state: 'stopped' });
  running = await writeBrokerLogDir(join(work, 'running'), { state: 'running', preallocatedIndexBytes: 64 * 1024 });
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});


/** Every file DumpLogSegments reads, of every folder of a log dir: segments, indexes, snapshots, in live, -delete and -future folders. */
async function dumpableFiles(root: string): Promise<string[]> {
  const files: string[] = [];
  for (const folder of (await readdir(root)).sort()) {
    if (parsePartitionDirName(folder) === undefined) continue;
    for (const name of (await readdir(join(root, folder))).sort()) {
      if (parseSegmentFileName(name) !== undefined || name.endsWith('.snapshot')) files.push(join(root, folder, name));
    }
  }
  return files;
}

const byFile = (files: DumpedFile[]) => new Map(files.map((f) => [f.file, f]));

/** Kafka lists the same `.index` / `.timeindex` entries as our readers parse, preallocated zeros and all. */
async function expectSameEntries(indexes: string[]): Promise<void> {
  const listed = byFile((await runDumpLogSegments(indexes)).files);
  for (const file of indexes) {
    const baseOffset = parseSegmentFileName(file.slice(file.lastIndexOf('/') + 1))!.baseOffset;
    const kafka = listed.get(file)!;
    if (file.endsWith('.index')) {
      const ours = OffsetIndex.parse(await readFile(file), baseOffset);
      // Kafka calls a zero-length index empty; so do we.
      expect(kafka.indexEntries, file).toEqual(Array.from({ length: ours.entries }, (_, i) => ours.entry(i)));
    } else {
      const ours = TimeIndex.parse(await readFile(file), baseOffset);
      expect(kafka.timeIndexEntries, file).toEqual(Array.from({ length: ours.entries }, (_, i) => ours.entry(i)));
    }
  }
}

describe("Kafka's DumpLogSegments", () => {
  it('finds no error in a cleanly stopped generated log dir: deep iteration, index and time index verification, snapshots', async () => {
    const files = await dumpableFiles(stopped.dir);
    const dump = await runDumpLogSegments(files, { deepIteration: true, verifyIndexOnly: true });
    expect(dump.kafkaVersion).toMatch(/^\d+\.\d+\.\d+$/);
    expect(dump.problems).toEqual([]);
    expect(dump.files.map((f) => f.file)).toEqual(files);
    const dumped = byFile(dump.files);
    for (const partition of stopped.partitions.filter((p) => p.topic !== '__cluster_metadata')) {
      for (const segment of partition.segments) {
        const seen = dumped.get(join(stopped.dir, segment.files.log))!;
        expect(seen.batches).toHaveLength(segment.batches);
        expect(seen.records.map((r) => r.offset)).toEqual(Array.from({ length: segment.records }, (_, i) => segment.baseOffset + BigInt(i)));
        expect(seen.batches.every((b) => b.isValid && b.compression === 'none')).toBe(true);
      }
    }
    // The snapshots parse in Kafka as in our reader (a CorruptSnapshotException would be on stderr).
    const snapshots = dump.files.filter((f) => f.file.endsWith('.snapshot'));
    expect(snapshots.length).toBeGreaterThan(10);
    for (const snapshot of snapshots) {
      expect(snapshot.lines).toHaveLength(parseProducerSnapshot(await readFile(snapshot.file)).length);
    }
  });

  it('passes the sanity check Kafka runs on indexes when it loads a cleanly stopped log dir, and lists the entries we read', async () => {
    // A -delete folder is never loaded, only removed: its active indexes stay preallocated (as in
    // the real fixture) and fail this check in Kafka's tool, the real ones exactly like ours.
    const indexes = (await dumpableFiles(stopped.dir)).filter((f) => /\.(index|timeindex)$/.test(f));
    const loaded = indexes.filter((f) => !f.includes('-delete/'));
    const sanity = await runDumpLogSegments(loaded, { indexSanityCheck: true });
    expect(sanity.problems).toEqual([]);
    const checked = sanity.files.filter((f) => f.lines.some((line) => line.endsWith('passed sanity check.') || line.endsWith('is empty.')));
    expect(checked.map((f) => f.file)).toEqual(loaded);
    const realDeleted = (await dumpableFiles(kafkaFixtureLogDir())).find((f) => f.includes('-delete/') && f.endsWith('.timeindex'))!;
    const ourDeleted = indexes.find((f) => f.includes('-delete/') && f.endsWith('.timeindex'))!;
    for (const file of [realDeleted, ourDeleted]) {
      await expect(runDumpLogSegments([file], { indexSanityCheck: true })).rejects.toThrow(/CorruptIndexException: Corrupt time index found, .* has non-zero size but the last timestamp is 0 which is less than the first timestamp/);
    }
    await expectSameEntries(indexes);
  });

  it("finds no error in a running broker's log dir, preallocated active indexes included", async () => {
    // DumpLogSegments cannot read the preallocated index of an empty active segment: it takes the
    // zero-filled first slot for an entry and looks for a batch in an empty log. The real broker's
    // __consumer_offsets-1 as it was while running (an empty log, 10 MiB of zeros for an index,
    // per running-broker-listing.txt) fails the same way; Kafka never checks a running broker's
    // active indexes (after a crash it rebuilds them), so those are left out here.
    const emptyActive = new Set(
      running.partitions.flatMap((p) => p.segments.filter((s) => s.active && s.records === 0).flatMap((s) => [join(running.dir, s.files.index!), join(running.dir, s.files.timeindex!)])),
    );
    expect(emptyActive.size).toBeGreaterThan(0);
    const real = join(work, 'real-running', '__consumer_offsets-1');
    await mkdir(real, { recursive: true });
    await copyFile(join(kafkaFixtureLogDir(), '__consumer_offsets-1', '00000000000000000000.log'), join(real, '00000000000000000000.log'));
    await writeFile(join(real, '00000000000000000000.index'), '');
    await truncate(join(real, '00000000000000000000.index'), 10 * 1024 * 1024);
    const ours = [...emptyActive].find((f) => f.endsWith('.index'))!;
    for (const index of [join(real, '00000000000000000000.index'), ours]) {
      await expect(runDumpLogSegments([index], { verifyIndexOnly: true })).rejects.toThrow(/java\.util\.NoSuchElementException\n\tat org\.apache\.kafka\.common\.utils\.AbstractIterator\.next/);
    }
    const files = (await dumpableFiles(running.dir)).filter((f) => !emptyActive.has(f));
    const dump = await runDumpLogSegments(files, { deepIteration: true, verifyIndexOnly: true });
    expect(dump.problems).toEqual([]);
    const preallocated = running.partitions.flatMap((p) => p.segments.filter((s) => s.sizes.index === 64 * 1024 && s.sizes.log > 4096));
    expect(preallocated.length).toBeGreaterThan(5);
    await expectSameEntries(preallocated.flatMap((s) => [join(running.dir, s.files.index!), join(running.dir, s.files.timeindex!)]));
  });

  it('accepts a large transactional segment and a preallocated active one written by writeSegment', async () => {
    const transactional = await writeSegment(work, {
      topic: 'ledger.tx-events',
      partition: 4,
      baseOffset: 1_234_567n,
      logBytes: 2 * 1024 * 1024,
      recordBytes: 512,
      recordsPerBatch: 10,
      indexIntervalBytes: 1024,
      transactions: { batchesPerTransaction: 4, abortEvery: 3 },
    });
    const active = await writeSegment(work, { topic: 'ledger.tx-events', partition: 4, baseOffset: transactional.nextOffset, logBytes: 300_000, preallocateIndexBytes: 10 * 1024 * 1024 });
    const files = [transactional, active].flatMap((s) => Object.values(s.files));
    const dump = await runDumpLogSegments(files, { deepIteration: true, verifyIndexOnly: true });
    expect(dump.problems).toEqual([]);
    const dumped = byFile(dump.files);
    expect(dumped.get(transactional.files.log)!.batches.filter((b) => b.isControl)).toHaveLength(Math.ceil((transactional.batches * 4) / 5 / 4));
    const aborted = dumped.get(transactional.files.txnindex!)!.lines;
    expect(aborted).toEqual(
      transactional.abortedTransactions.map((t) => `version: 0 producerId: ${t.producerId} firstOffset: ${t.firstOffset} lastOffset: ${t.lastOffset} lastStableOffset: ${t.lastStableOffset}`),
    );
    expect(dumped.get(active.files.log)!.records).toHaveLength(active.records);
  });

  it('reads the real fixture exactly as our readers do: every batch, record, index entry, aborted transaction and snapshot', async () => {
    const root = kafkaFixtureLogDir();
    const files = await dumpableFiles(root);
    const dump = await runDumpLogSegments(files, { deepIteration: true });
    expect(dump.problems).toEqual([]);
    const dumped = byFile(dump.files);
    let batches = 0;
    for (const file of files) {
      const kafka = dumped.get(file)!;
      const name = file.slice(file.lastIndexOf('/') + 1);
      const bytes = await readFile(file);
      if (name.endsWith('.log')) {
        const ours = await readLogBatchHeaders(file);
        expect(kafka.batches, file).toEqual(
          ours.map(({ position, header }) => ({
            baseOffset: header.baseOffset,
            lastOffset: header.lastOffset,
            count: header.recordsCount,
            baseSequence: header.baseSequence,
            producerId: header.producerId,
            producerEpoch: header.producerEpoch,
            partitionLeaderEpoch: header.partitionLeaderEpoch,
            isTransactional: header.isTransactional,
            isControl: header.isControl,
            position,
            timestampType: header.timestampType,
            maxTimestamp: header.maxTimestamp,
            size: header.sizeInBytes,
            compression: header.compression,
            crc: header.crc,
            isValid: true,
          })),
        );
        const records = ours.flatMap(({ position, header }) =>
          decodeRecords(bytes.subarray(position, position + header.sizeInBytes)).map((r, i) => ({
            offset: r.offset,
            timestamp: r.timestamp,
            keySize: r.key?.length ?? -1,
            valueSize: r.value?.length ?? -1,
            sequence: header.baseSequence < 0 ? -1 : header.baseSequence + i,
            headerKeys: r.headers.map((h) => h.key),
          })),
        );
        expect(kafka.records, file).toEqual(records);
        batches += ours.length;
      } else if (name.endsWith('.txnindex')) {
        expect(kafka.lines).toEqual(
          parseTransactionIndex(bytes).map((t) => `version: ${t.version} producerId: ${t.producerId} firstOffset: ${t.firstOffset} lastOffset: ${t.lastOffset} lastStableOffset: ${t.lastStableOffset}`),
        );
      } else if (name.endsWith('.snapshot')) {
        expect(kafka.lines.map((line) => BigInt(/producerId: (\d+)/.exec(line)![1]!))).toEqual(parseProducerSnapshot(bytes).map((e) => e.producerId));
      } else if (name.endsWith('.timeindex')) {
        const ours = TimeIndex.parse(bytes, parseSegmentFileName(name)!.baseOffset);
        expect(kafka.timeIndexEntries, file).toEqual(Array.from({ length: ours.entries }, (_, i) => ours.entry(i)));
      } else if (name.endsWith('.index')) {
        const ours = OffsetIndex.parse(bytes, parseSegmentFileName(name)!.baseOffset);
        if (ours.entries > 0 || bytes.length > 0) expect(kafka.indexEntries, file).toEqual(Array.from({ length: ours.entries }, (_, i) => ours.entry(i)));
      }
    }
    expect(batches).toBeGreaterThan(200);
  });

  it("finds the topics of the real metadata log as Kafka decodes them: the latest snapshot's, then the log's creations and removals", async () => {
    const metadata = join(kafkaFixtureLogDir(), CLUSTER_METADATA_DIR);
    const names = (await readdir(metadata)).sort();
    const snapshot = join(metadata, names.filter((name) => name.endsWith('.checkpoint')).at(-1)!);
    const log = join(metadata, '00000000000000000000.log');
    const dumped = byFile((await runDumpLogSegments([snapshot, log], { clusterMetadataDecoder: true })).files);
    type Payload = { type: string; data: { name?: string; topicId?: string } };
    const payloads = (file: string) => dumped.get(file)!.records.flatMap((r) => (r.payload === undefined ? [] : [{ offset: r.offset, ...(JSON.parse(r.payload) as Payload) }]));
    /** Kafka's records replayed: created minus removed, and the removed. */
    const replay = (records: ReturnType<typeof payloads>) => {
      const live = new Map<string, string>();
      const removed = new Set<string>();
      for (const { type, data } of records) {
        if (type === 'TOPIC_RECORD') live.set(data.topicId!, data.name!);
        if (type === 'REMOVE_TOPIC_RECORD') (live.delete(data.topicId!), removed.add(data.topicId!));
      }
      return { live, removed };
    };

    // As the broker left it: the latest snapshot, then the log after its end offset.
    const endOffset = BigInt(snapshot.slice(snapshot.lastIndexOf('/') + 1).slice(0, 20));
    const expected = replay([...payloads(snapshot), ...payloads(log).filter((r) => r.offset >= endOffset)]);
    expect([...expected.live.values()]).toContain('orders.v1-events');
    const ours = (await readClusterTopics(kafkaFixtureLogDir()))!;
    expect(new Map([...ours.live].sort())).toEqual(new Map([...expected.live].sort()));
    expect(new Set(ours.removed.keys())).toEqual(expected.removed);

    // Without snapshots the whole log is replayed, scratch-topic's removal included.
    const copy = join(work, 'metadata-log-only');
    await mkdir(join(copy, CLUSTER_METADATA_DIR), { recursive: true });
    for (const name of names.filter((n) => !n.endsWith('.checkpoint'))) await copyFile(join(metadata, name), join(copy, CLUSTER_METADATA_DIR, name));
    const whole = replay(payloads(log));
    expect(whole.removed.size).toBe(1);
    const fromLog = (await readClusterTopics(copy))!;
    expect(new Map([...fromLog.live].sort())).toEqual(new Map([...whole.live].sort()));
    expect(new Set(fromLog.removed.keys())).toEqual(whole.removed);
    expect(fromLog.endOffset).toBe(dumped.get(log)!.batches.at(-1)!.lastOffset + 1n);
  });
});
