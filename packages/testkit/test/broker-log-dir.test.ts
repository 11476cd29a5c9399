import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  OffsetIndex,
  TimeIndex,
  openFileRangeReader,
  parsePartitionDirName,
  parseProducerSnapshot,
  parseSegmentFileName,
  verifyRecordBatch,
  walkBatchHeaders,
} from '@takhin/core';
import { kafkaFixtureLogDir, writeBrokerLogDir, type BrokerLogDirManifest } from '@takhin/testkit';

const NOW = new Date('2026-11-20T12:00:00Z');
const SPAN_MS = 10 * 24 * 60 * 60 * 1000;

let work: string;
let running: BrokerLogDirManifest;
let stopped: BrokerLogDirManifest;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'takhin-broker-log-dir-'));
  running = await writeBrokerLogDir(join(work, 'running'), { now: NOW, mtimeSpanMs: SPAN_MS });
  stopped = await writeBrokerLogDir(join(work, 'stopped'), { now: NOW, mtimeSpanMs: SPAN_MS, state: 'stopped', preallocatedIndexBytes: 4096 });
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name))).sort();
}

/** A file's shape: where it lives (root, live partition, -delete or -future folder) and its name with offsets and epochs blanked. */
function shape(path: string): string {
  const parts = path.split('/');
  const name = parts.at(-1)!.replace(/^\d{20}-\d{10}\./, '<offset>-<epoch>.').replace(/^\d{20}\./, '<offset>.');
  if (parts.length === 1) return `root/${name}`;
  const folder = parsePartitionDirName(parts[0]!);
  return `${folder?.kind ?? 'unknown'}/${name}`;
}

describe('writeBrokerLogDir', () => {
  it('returns a manifest that is exactly what is on disk: segment files with their sizes and mtimes, and every other file', async () => {
    for (const manifest of [running, stopped]) {
      const onDisk = await filesUnder(manifest.dir);
      const segmentFiles = manifest.partitions.flatMap((p) => p.segments.flatMap((s) => Object.values(s.files)));
      expect([...segmentFiles, ...manifest.nonSegmentFiles].sort()).toEqual(onDisk);
      for (const partition of manifest.partitions) {
        for (const segment of partition.segments) {
          for (const [extension, file] of Object.entries(segment.files)) {
            const info = await stat(join(manifest.dir, file));
            expect(info.size, file).toBe(segment.sizes[extension as keyof typeof segment.sizes]);
            if (partition.topic !== '__cluster_metadata') expect(info.mtime, file).toEqual(segment.mtime);
            expect(parseSegmentFileName(file.split('/')[1]!)).toEqual({ baseOffset: segment.baseOffset, extension });
          }
        }
      }
      for (const file of manifest.nonSegmentFiles) {
        const inLivePartition = parsePartitionDirName(file.split('/')[0]!)?.kind === 'live';
        if (inLivePartition) expect(parseSegmentFileName(file.split('/')[1]!), file).toBeUndefined();
      }
    }
  });

  it('writes real Kafka segments: CRC-valid batches, offsets running on from segment to segment, indexes Kafka would accept', async () => {
    for (const manifest of [running, stopped]) {
      for (const partition of manifest.partitions) {
        let next = partition.logStartOffset;
        for (const segment of partition.segments) {
          expect(segment.baseOffset).toBe(next);
          const log = await readFile(join(manifest.dir, segment.files.log));
          const reader = await openFileRangeReader(join(manifest.dir, segment.files.log));
          let batches = 0;
          for await (const { position, header } of walkBatchHeaders(reader.read, 0)) {
            verifyRecordBatch(log.subarray(position, position + header.sizeInBytes));
            expect(header.baseOffset).toBe(next);
            next = header.lastOffset + 1n;
            batches++;
          }
          await reader.close();
          expect(batches).toBe(segment.batches);
          expect(next - 1n).toBe(segment.lastOffset);
          const index = OffsetIndex.parse(await readFile(join(manifest.dir, segment.files.index!)), segment.baseOffset);
          for (let slot = 0; slot < index.entries; slot++) {
            const { offset, position } = index.entry(slot);
            if (offset === segment.baseOffset && position === 0) continue; // a preallocated index with no entry yet
            expect(verifyRecordBatch(log.subarray(position)).lastOffset).toBe(offset);
          }
          TimeIndex.parse(await readFile(join(manifest.dir, segment.files.timeindex!)), segment.baseOffset);
        }
        expect(next).toBe(partition.logEndOffset);
      }
    }
  });

  it('names topics with "-" and ".", keeps internal topics apart, and lays out a real broker\'s folders and files', () => {
    const folders = running.partitions.map((p) => p.dir);
    expect(folders).toEqual(expect.arrayContaining(['orders.v1-events-0', 'orders.v1-events-1', 'payments-ledger-0', '__consumer_offsets-0', '__cluster_metadata-0']));
    expect(running.partitions.filter((p) => p.internal).map((p) => p.topic).every((t) => t.startsWith('__'))).toBe(true);
    expect(running.nonPartitionDirs).toHaveLength(2);
    expect(running.nonPartitionDirs.map((d) => parsePartitionDirName(d)?.kind).sort()).toEqual(['delete', 'future']);
    expect(running.nonSegmentFiles).toEqual(
      expect.arrayContaining(['.lock', 'meta.properties', 'recovery-point-offset-checkpoint', 'replication-offset-checkpoint', 'log-start-offset-checkpoint', 'cleaner-offset-checkpoint', '__cluster_metadata-0/quorum-state']),
    );
    expect(running.nonSegmentFiles.some((f) => /^__cluster_metadata-0\/\d{20}-\d{10}\.checkpoint$/.test(f))).toBe(true);
    for (const suffix of ['.log.deleted', '.snapshot.deleted', '.log.cleaned', '.index.cleaned', '.log.swap', '.timeindex.swap']) {
      expect(running.nonSegmentFiles.some((f) => f.endsWith(suffix)), suffix).toBe(true);
    }
    expect(running.nonSegmentFiles).not.toContain('.kafka_cleanshutdown');
    expect(stopped.nonSegmentFiles).toContain('.kafka_cleanshutdown');
  });

  it('has every kind of file and folder the real Kafka broker left in the committed fixture', async () => {
    const real = new Set((await filesUnder(kafkaFixtureLogDir())).map(shape));
    const generated = new Set((await filesUnder(stopped.dir)).map(shape));
    expect([...real].filter((kind) => !generated.has(kind))).toEqual([]);
    const whileRunning = new Set((await filesUnder(running.dir)).map(shape));
    expect([...real].filter((kind) => !whileRunning.has(kind))).toEqual(['root/.kafka_cleanshutdown']);
  });

  it('preallocates the active segment indexes of a running broker only, 10 MiB by default or as configured', () => {
    for (const [manifest, indexBytes, timeBytes] of [
      [running, 10_485_760, 10_485_756],
      [stopped, undefined, undefined],
    ] as const) {
      for (const partition of manifest.partitions) {
        const active = partition.segments.at(-1)!;
        expect(partition.segments.filter((s) => s.active)).toEqual([active]);
        for (const segment of partition.segments.slice(0, -1)) expect(segment.sizes.index! % 8 === 0 && segment.sizes.index! < 4096).toBe(true);
        if (indexBytes === undefined) {
          expect(active.sizes.index! < 4096 && active.sizes.timeindex! < 4092, active.segmentPath).toBe(true);
        } else {
          expect([active.sizes.index, active.sizes.timeindex], active.segmentPath).toEqual([indexBytes, timeBytes]);
        }
      }
    }
  });

  it('spreads segment mtimes over the span, oldest segment first, newest at now', () => {
    const user = running.partitions.filter((p) => !p.internal && p.segments.length > 1);
    for (const partition of user) {
      const times = partition.segments.map((s) => s.mtime.getTime());
      expect(times).toEqual([...times].sort((a, b) => a - b));
      expect(times.at(-1)).toBe(NOW.getTime());
    }
    const oldest = Math.min(...user.map((p) => p.segments[0]!.mtime.getTime()));
    expect(oldest).toBe(NOW.getTime() - SPAN_MS);
  });

  it('writes producer snapshots at each rolled segment base and at the log end offset, where no .log exists', async () => {
    for (const partition of running.partitions.filter((p) => !p.internal)) {
      const names = await readdir(join(running.dir, partition.dir));
      // Every roll left one, at the new segment's base: all but the log's first segment (retention may have deleted that).
      const expected = [...partition.segments.filter((s) => s.baseOffset > 0n).map((s) => s.baseOffset), partition.logEndOffset];
      const snapshots = names.filter((n) => n.endsWith('.snapshot')).map((n) => BigInt(n.slice(0, 20)));
      expect(snapshots.sort((a, b) => (a < b ? -1 : 1))).toEqual(expected);
      expect(names).not.toContain(`${String(partition.logEndOffset).padStart(20, '0')}.log`);
      const [state] = parseProducerSnapshot(await readFile(join(running.dir, partition.dir, `${String(partition.logEndOffset).padStart(20, '0')}.snapshot`)));
      const lastData = partition.topic === 'payments-ledger' ? partition.logEndOffset - 2n : partition.logEndOffset - 1n; // the marker follows the last data record
      expect(state).toMatchObject({ lastOffset: lastData, currentTxnFirstOffset: -1n });
    }
  });

  it("writes the broker's checkpoints in Kafka's format", async () => {
    const text = await readFile(join(running.dir, 'recovery-point-offset-checkpoint'), 'utf8');
    const [version, count, ...lines] = text.trimEnd().split('\n');
    expect(version).toBe('0');
    const logs = running.partitions.filter((p) => p.topic !== '__cluster_metadata');
    expect(Number(count)).toBe(logs.length);
    expect(new Set(lines)).toEqual(new Set(logs.map((p) => `${p.topic} ${p.partition} ${p.logEndOffset}`)));
    expect(await readFile(join(running.dir, 'log-start-offset-checkpoint'), 'utf8')).toBe('0\n0\n');
    expect(await readFile(join(running.dir, 'meta.properties'), 'utf8')).toMatch(/^#\n#\w{3} \w{3} \d{2} \d{2}:\d{2}:\d{2} UTC \d{4}\nnode\.id=1\ndirectory\.id=[\w-]{22}\nversion=1\ncluster\.id=[\w-]{22}\n$/);
    expect(JSON.parse(await readFile(join(stopped.dir, '.kafka_cleanshutdown'), 'utf8'))).toEqual({ version: 0, brokerEpoch: expect.any(Number) });
    const clickstream = running.partitions.find((p) => p.topic === 'clickstream.raw')!;
    expect(await readFile(join(running.dir, clickstream.dir, 'leader-epoch-checkpoint'), 'utf8')).toBe(`0\n1\n0 ${clickstream.logStartOffset}\n`);
    expect(await readFile(join(running.dir, clickstream.dir, 'partition.metadata'), 'utf8')).toMatch(/^version: 0\ntopic_id: [\w-]{22}$/);
  });

  it('takes the topics asked for, and refuses a folder that is not empty or a bad topic', async () => {
    const custom = await writeBrokerLogDir(join(work, 'custom'), {
      topics: [{ name: 'a.b-c', partitions: 3, segments: 2, segmentBytes: 5000 }],
      leftovers: false,
      consumerOffsetsPartitions: 1,
      preallocatedIndexBytes: 1024,
    });
    expect(custom.partitions.map((p) => p.dir)).toEqual(['a.b-c-0', 'a.b-c-1', 'a.b-c-2', '__consumer_offsets-0', '__cluster_metadata-0']);
    expect(custom.nonPartitionDirs).toEqual([]);
    expect(custom.partitions[0]!.segments.at(-1)!.sizes).toMatchObject({ index: 1024, timeindex: 1020 });
    const busy = join(work, 'busy');
    await writeBrokerLogDir(busy, { topics: [], leftovers: false });
    await expect(writeBrokerLogDir(busy)).rejects.toThrow(`writeBrokerLogDir: ${busy} is not empty`);
    await expect(writeBrokerLogDir(join(work, 'bad'), { topics: [{ name: 'no spaces', partitions: 1, segments: 1 }] })).rejects.toThrow('not a legal Kafka topic name: "no spaces"');
    await expect(writeBrokerLogDir(join(work, 'bad2'), { topics: [{ name: 't', partitions: 0, segments: 1 }] })).rejects.toThrow('topic t: partitions must be a positive integer, got 0');
  });
});
