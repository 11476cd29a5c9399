import { mkdir, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { encodeProducerSnapshot, formatPartitionDirName, offsetFileNamePrefix, parseSegmentFileName, type ProducerSnapshotEntry, type SegmentFileExtension } from '@takhin/core';
import { copyClusterMetadata, manifestSegment, writeRootFiles, type Layout } from './broker-log-dir-metadata.js';
import { dirUniqueId, kafkaUuid, leaderEpochCheckpoint, partitionMetadata } from './log-dir-files.js';
import { writeSegment, type GeneratedSegment, type SegmentSpec } from './segment-generator.js';

/** One user topic of a generated log dir. */
export interface TopicSpec {
  /** A legal Kafka topic name; `-` and `.` are welcome. */
  name: string;
  partitions: number;
  /** Segments per partition, the last one active (at least 1). */
  segments: number;
  /** Approximate bytes of each segment's `.log` (default 32 KiB). */
  segmentBytes?: number;
  /** Value bytes per record (default 200). */
  recordBytes?: number;
  /** Records per batch (default 8: many batches a segment, several index entries). */
  recordsPerBatch?: number;
  transactions?: SegmentSpec['transactions'];
}

/**
 * - `running`: a broker running after a clean restart, as Kafka 4.2 was seen to leave it: each
 *   active segment's `.index`/`.timeindex` preallocated with zeros, the producer snapshot the last
 *   shutdown wrote at the log end offset (no `.log` there), no `.kafka_cleanshutdown`;
 * - `stopped`: after a clean shutdown: indexes trimmed to their entries, `.kafka_cleanshutdown`.
 */
export type BrokerState = 'running' | 'stopped';

export interface BrokerLogDirSpec {
  /** User topics (default: `orders.v1-events` × 2 partitions × 4 segments, transactional `payments-ledger` × 1 × 3). */
  topics?: TopicSpec[];
  /** Default `running`. */
  state?: BrokerState;
  /** Size of a running broker's preallocated active indexes (default 10 MiB, Kafka's `segment.index.bytes`); sparse files. */
  preallocatedIndexBytes?: number;
  /** Modification time of each partition's newest segment and of the other files (default now). */
  now?: Date;
  /** Segment mtimes spread evenly over this span before `now`, oldest first (default 14 days). */
  mtimeSpanMs?: number;
  /** Kafka's `index.interval.bytes` (default 4096). */
  indexIntervalBytes?: number;
  /** Partitions of `__consumer_offsets` (default 3; Kafka's default is 50). */
  consumerOffsetsPartitions?: number;
  /**
   * What a busy broker leaves lying around (default true): `clickstream.raw-0` whose two oldest
   * segments retention renamed `*.deleted`, `user-profiles.compacted-0`/`-1` with a cleaner's
   * `*.cleaned` / `*.swap` files, a `<topic>-<p>.<id>-future` and a `retired.events-0.<id>-delete` folder.
   */
  leftovers?: boolean;
  nodeId?: number;
}

/** One segment in the manifest; paths are relative to the log dir. */
export interface ManifestSegment {
  segmentPath: string;
  files: Partial<Record<SegmentFileExtension, string>> & { log: string };
  sizes: Partial<Record<SegmentFileExtension, number>> & { log: number };
  baseOffset: bigint;
  lastOffset: bigint;
  nextOffset: bigint;
  records: number;
  batches: number;
  mtime: Date;
  /** The partition's highest base offset: never archived. */
  active: boolean;
}

/** A live partition folder (`<topic>-<partition>`). */
export interface ManifestPartition {
  topic: string;
  partition: number;
  /** Folder name, relative to the log dir. */
  dir: string;
  /** `__*` topics: never tiered. */
  internal: boolean;
  /** Ascending base offsets; the last is active. Segments renamed `*.deleted` are not here. */
  segments: ManifestSegment[];
  logStartOffset: bigint;
  logEndOffset: bigint;
}

/** What `writeBrokerLogDir` wrote: tests assert on it, e.g. that everything not tierable was left alone. */
export interface BrokerLogDirManifest {
  dir: string;
  state: BrokerState;
  partitions: ManifestPartition[];
  /** Every file that is not a segment file of a live partition folder, relative and sorted. */
  nonSegmentFiles: string[];
  /** Folders that hold segment-like files but are not live partitions (`-delete`, `-future`). */
  nonPartitionDirs: string[];
}

const MiB = 1024 * 1024;
const DAY_MS = 24 * 60 * 60 * 1000;
const DEFAULT_TOPICS: TopicSpec[] = [
  { name: 'orders.v1-events', partitions: 2, segments: 4 },
  { name: 'payments-ledger', partitions: 1, segments: 3, transactions: { batchesPerTransaction: 2, abortEvery: 3 } },
];

/**
 * Lays out a whole Kafka broker log dir in `dir` (which must be empty or absent), with real
 * segment data (`writeSegment`), producer snapshots, checkpoints, internal topics (a
 * `__cluster_metadata-0` copied from the committed real-Kafka fixture) and, by default, the
 * leftovers of retention, compaction, a topic deletion and a replica move.
 */
export async function writeBrokerLogDir(dir: string, spec: BrokerLogDirSpec = {}): Promise<BrokerLogDirManifest> {
  const state = spec.state ?? 'running';
  const now = spec.now ?? new Date();
  const layout: Layout = {
    dir,
    state,
    now,
    spanMs: spec.mtimeSpanMs ?? 14 * DAY_MS,
    preallocate: spec.preallocatedIndexBytes ?? 10 * MiB,
    indexIntervalBytes: spec.indexIntervalBytes ?? 4096,
  };
  if (!['running', 'stopped'].includes(state)) throw new RangeError(`log dir spec: state must be 'running' or 'stopped', got ${String(state)}`);
  if (!Number.isSafeInteger(layout.preallocate) || layout.preallocate < 12) {
    throw new RangeError(`log dir spec: preallocatedIndexBytes must be an integer of at least 12, got ${layout.preallocate}`);
  }
  if (!Number.isSafeInteger(layout.spanMs) || layout.spanMs < 0) throw new RangeError(`log dir spec: mtimeSpanMs must be a non-negative integer, got ${layout.spanMs}`);
  await assertEmpty(dir);
  await mkdir(dir, { recursive: true });

  const topics = spec.topics ?? DEFAULT_TOPICS;
  const partitions: ManifestPartition[] = [];
  for (const topic of topics) {
    assertTopic(topic);
    for (let p = 0; p < topic.partitions; p++) partitions.push(await writePartition(layout, topic, p));
  }
  const nonPartitionDirs: string[] = [];
  if (spec.leftovers ?? true) await writeLeftovers(layout, topics, partitions, nonPartitionDirs);
  // Coordinators write one record a batch (an offset commit, a transaction state change), as in the real fixture.
  const offsetsPartitions = spec.consumerOffsetsPartitions ?? 3;
  if (!Number.isSafeInteger(offsetsPartitions) || offsetsPartitions < 0) {
    throw new RangeError(`log dir spec: consumerOffsetsPartitions must be a non-negative integer, got ${offsetsPartitions}`);
  }
  for (let p = 0; p < offsetsPartitions; p++) {
    const offsets: TopicSpec = { name: '__consumer_offsets', partitions: offsetsPartitions, segments: 1, segmentBytes: p === 0 ? 2048 : 0, recordBytes: 100, recordsPerBatch: 1 };
    partitions.push(await writePartition(layout, offsets, p, { producer: null }));
  }
  if (topics.some((t) => t.transactions)) {
    const state: TopicSpec = { name: '__transaction_state', partitions: 1, segments: 1, segmentBytes: 3072, recordBytes: 100, recordsPerBatch: 1 };
    partitions.push(await writePartition(layout, state, 0, { producer: null }));
  }
  partitions.push(await copyClusterMetadata(layout));
  await writeRootFiles(layout, partitions, spec.nodeId ?? 1);

  const segmentFiles = new Set(partitions.flatMap((p) => p.segments.flatMap((s) => Object.values(s.files))));
  const nonSegmentFiles = (await listFiles(dir)).filter((file) => !segmentFiles.has(file));
  for (const file of nonSegmentFiles) {
    if (!(await isSegmentMtimeFile(layout, file))) await utimes(join(dir, file), now, now);
  }
  return { dir, state, partitions, nonSegmentFiles, nonPartitionDirs: nonPartitionDirs.sort() };
}

/** Mtime of segment `k` of `n` in a partition: evenly spread, the newest at `now`. */
function segmentMtime(layout: Layout, k: number, n: number): Date {
  const age = n <= 1 ? 0 : Math.round((layout.spanMs * (n - 1 - k)) / (n - 1));
  return new Date(layout.now.getTime() - age);
}

/**
 * Writes a live partition: its segments (the last active), a producer snapshot at each later
 * segment's base offset and at the log end offset, `leader-epoch-checkpoint` and
 * `partition.metadata`. `deleteOldest` segments are then renamed `*.deleted`, as retention does.
 */
async function writePartition(
  layout: Layout,
  topic: TopicSpec,
  partition: number,
  options: { producer?: SegmentSpec['producer']; deleteOldest?: number; directory?: string } = {},
): Promise<ManifestPartition> {
  const folder = options.directory ?? formatPartitionDirName(topic.name, partition);
  const path = join(layout.dir, folder);
  await mkdir(path, { recursive: true });
  const recordBytes = topic.recordBytes ?? 200;
  const recordsPerBatch = topic.recordsPerBatch ?? 8;
  const segmentBytes = topic.segmentBytes ?? 32 * 1024;
  const estimatedRecords = Math.max(1, Math.ceil(segmentBytes / (recordBytes + 40)));
  const written: Array<{ segment: GeneratedSegment; mtime: Date }> = [];
  let nextOffset = 0n;
  let nextSequence = 0;
  let previousMtime = segmentMtime(layout, -1, topic.segments);
  let firstTimestampMs = previousMtime.getTime();
  for (let k = 0; k < topic.segments; k++) {
    const mtime = segmentMtime(layout, k, topic.segments);
    const active = k === topic.segments - 1;
    const segment = await writeSegment(layout.dir, {
      topic: topic.name,
      partition,
      baseOffset: nextOffset,
      logBytes: segmentBytes,
      recordBytes,
      recordsPerBatch,
      indexIntervalBytes: layout.indexIntervalBytes,
      firstTimestampMs,
      // Record timestamps run from the previous segment's mtime to this one's, as appends would.
      timestampStepMs: Math.max(0, Math.floor((mtime.getTime() - previousMtime.getTime()) / estimatedRecords)),
      producer: options.producer === null ? null : { producerId: BigInt(1000 + partition), firstSequence: nextSequence },
      ...(topic.transactions ? { transactions: topic.transactions } : {}),
      // A running broker's active segment: loaded after the clean restart, so its time index was closed, then preallocated again.
      ...(active && layout.state === 'running' ? { preallocateIndexBytes: layout.preallocate, lastTimestampIndexed: true } : {}),
      mtime,
      directory: folder,
    });
    written.push({ segment, mtime });
    nextOffset = segment.nextOffset;
    nextSequence = segment.nextSequence;
    firstTimestampMs = Math.max(segment.lastTimestampMs + 1, mtime.getTime());
    previousMtime = mtime;
  }
  // Kafka snapshots producer state at every roll (named by the new segment's base offset) and at
  // shutdown (the log end offset), but only past the last snapshot: an empty log gets none.
  for (let k = 1; k <= written.length; k++) {
    const before = written[k - 1]!.segment;
    if (before.records === 0) continue;
    await writeFile(join(path, `${offsetFileNamePrefix(before.nextOffset)}.snapshot`), snapshotOf(before.producerState));
  }
  const deleted = options.deleteOldest ?? 0;
  for (const { segment } of written.slice(0, deleted)) await markDeleted(path, segment);
  const live = written.slice(deleted);
  const logStartOffset = live[0]?.segment.baseOffset ?? nextOffset;
  await writeFile(join(path, 'leader-epoch-checkpoint'), leaderEpochCheckpoint([{ epoch: 0, startOffset: logStartOffset }]));
  await writeFile(join(path, 'partition.metadata'), partitionMetadata(kafkaUuid(topic.name)));
  return {
    topic: topic.name,
    partition,
    dir: folder,
    internal: topic.name.startsWith('__'),
    segments: await Promise.all(live.map(({ segment, mtime }, i) => manifestSegment(layout, segment, mtime, i === live.length - 1))),
    logStartOffset,
    logEndOffset: nextOffset,
  };
}

const snapshotOf = (state: ProducerSnapshotEntry | undefined) => encodeProducerSnapshot(state ? [state] : []);

/** Retention renames a segment's files, and the snapshot at its base offset, with `.deleted`. */
async function markDeleted(path: string, segment: GeneratedSegment): Promise<void> {
  for (const file of Object.values(segment.files)) await rename(file, `${file}.deleted`);
  const snapshot = join(path, `${offsetFileNamePrefix(segment.baseOffset)}.snapshot`);
  await rename(snapshot, `${snapshot}.deleted`).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error; // the first segment has no snapshot at its base
  });
}

/** Retention, compaction, a topic deletion and a replica move, each as Kafka names its files. */
async function writeLeftovers(layout: Layout, topics: TopicSpec[], partitions: ManifestPartition[], nonPartitionDirs: string[]): Promise<void> {
  partitions.push(await writePartition(layout, { name: 'clickstream.raw', partitions: 1, segments: 4 }, 0, { deleteOldest: 2 }));
  const compacted: TopicSpec = { name: 'user-profiles.compacted', partitions: 2, segments: 3 };
  for (const [partition, suffix] of [[0, 'cleaned'], [1, 'swap']] as const) {
    const written = await writePartition(layout, compacted, partition);
    partitions.push(written);
    await writeCleanerOutput(layout, compacted, written, suffix);
  }
  // A replica being moved into this log dir from another: a partition not hosted live here.
  const moving = topics[0] ?? { name: 'inventory.moves', partitions: 0, segments: 2 };
  const futureDir = `${formatPartitionDirName(moving.name, moving.partitions)}.${dirUniqueId(`${moving.name}-future`)}-future`;
  await writePartition(layout, { ...moving, segments: 2, transactions: undefined }, moving.partitions, { directory: futureDir });
  // A deleted topic's folder keeps its active segment's preallocated indexes (seen on Kafka 4.2).
  const deleteDir = `${formatPartitionDirName('retired.events', 0)}.${dirUniqueId('retired.events-delete')}-delete`;
  await writeSegment(layout.dir, {
    topic: 'retired.events',
    partition: 0,
    baseOffset: 0n,
    logBytes: 8192,
    recordBytes: 200,
    recordsPerBatch: 8,
    preallocateIndexBytes: layout.preallocate,
    lastTimestampIndexed: true,
    mtime: segmentMtime(layout, 0, 2),
    directory: deleteDir,
  });
  await writeFile(join(layout.dir, deleteDir, 'leader-epoch-checkpoint'), leaderEpochCheckpoint([{ epoch: 0, startOffset: 0n }]));
  await writeFile(join(layout.dir, deleteDir, 'partition.metadata'), partitionMetadata(kafkaUuid('retired.events')));
  nonPartitionDirs.push(futureDir, deleteDir);
}

/**
 * The log cleaner writes the cleaned copy of a group of segments as `<first base>.log.cleaned`
 * (and its indexes), renames it `.swap` before swapping it in: a crash leaves either.
 */
async function writeCleanerOutput(layout: Layout, topic: TopicSpec, partition: ManifestPartition, suffix: 'cleaned' | 'swap'): Promise<void> {
  const first = partition.segments[0];
  if (first === undefined) return;
  const staging = `.takhin-staging-${partition.dir}`;
  const cleaned = await writeSegment(layout.dir, {
    topic: topic.name,
    partition: partition.partition,
    baseOffset: first.baseOffset,
    logBytes: Math.floor(first.sizes.log / 2),
    recordBytes: 200,
    recordsPerBatch: 8,
    indexIntervalBytes: layout.indexIntervalBytes,
    mtime: layout.now,
    directory: staging,
  });
  for (const file of Object.values(cleaned.files)) {
    const name = file.slice(file.lastIndexOf('/') + 1);
    await rename(file, join(layout.dir, partition.dir, `${name}.${suffix}`));
  }
  await rm(join(layout.dir, staging), { recursive: true });
}

/** Segment-like leftovers keep the mtimes `writeSegment` gave them. */
async function isSegmentMtimeFile(layout: Layout, file: string): Promise<boolean> {
  const name = file.slice(file.lastIndexOf('/') + 1);
  const bare = name.replace(/\.(deleted|cleaned|swap)$/, '');
  return parseSegmentFileName(bare) !== undefined && (await stat(join(layout.dir, file))).isFile();
}

/** Every file under `dir`, relative, sorted; bounded by what this module wrote. */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

async function assertEmpty(dir: string): Promise<void> {
  const entries = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  if (entries.length > 0) throw new Error(`writeBrokerLogDir: ${dir} is not empty (${entries.length} entries); give it a new or empty folder`);
}

function assertTopic(topic: TopicSpec): void {
  formatPartitionDirName(topic.name, 0); // throws on an illegal topic name
  if (!Number.isSafeInteger(topic.partitions) || topic.partitions < 1) throw new RangeError(`topic ${topic.name}: partitions must be a positive integer, got ${topic.partitions}`);
  if (!Number.isSafeInteger(topic.segments) || topic.segments < 1) throw new RangeError(`topic ${topic.name}: segments must be a positive integer, got ${topic.segments}`);
}
