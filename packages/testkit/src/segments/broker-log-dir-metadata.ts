import { copyFile, mkdir, readFile, readdir, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { OFFSET_INDEX_ENTRY_SIZE, TIME_INDEX_ENTRY_SIZE, formatSegmentFileName, readLogBatchHeaders, type SegmentFileExtension } from '@takhin/core';
import type { BrokerState, ManifestPartition, ManifestSegment } from './broker-log-dir.js';
import { kafkaFixtureLogDir } from './kafka-fixture.js';
import { cleanShutdownFile, kafkaUuid, metaProperties, offsetCheckpoint, type PartitionOffset } from './log-dir-files.js';
import type { GeneratedSegment } from './segment-generator.js';

// What a broker log dir holds besides its user topics' partitions (writeBrokerLogDir,
// broker-log-dir.ts): KRaft's metadata log and the files at the log dir's root; and how a
// written segment is described in the manifest.

/** The log dir being written, and the choices every part of it follows. */
export interface Layout {
  dir: string;
  state: BrokerState;
  now: Date;
  spanMs: number;
  preallocate: number;
  indexIntervalBytes: number;
}

/** A written segment as the manifest describes it: every file relative to the log dir, with its size. */
export async function manifestSegment(layout: Layout, segment: GeneratedSegment, mtime: Date, active: boolean): Promise<ManifestSegment> {
  const files: ManifestSegment['files'] = { log: relative(layout.dir, segment.files.log) };
  const sizes: ManifestSegment['sizes'] = { log: segment.logBytes };
  for (const [extension, file] of Object.entries(segment.files) as Array<[SegmentFileExtension, string]>) {
    files[extension] = relative(layout.dir, file);
    sizes[extension] = (await stat(file)).size;
  }
  return {
    segmentPath: segment.segmentPath,
    files,
    sizes,
    baseOffset: segment.baseOffset,
    lastOffset: segment.lastOffset,
    nextOffset: segment.nextOffset,
    records: segment.records,
    batches: segment.batches,
    mtime,
    active,
  };
}

/**
 * `__cluster_metadata-0` is KRaft's metadata log: copied from the real Kafka fixture (its
 * `.log`, indexes, `<offset>-<epoch>.checkpoint` snapshots, `quorum-state`, …); a running
 * broker's copy has its active indexes preallocated.
 */
export async function copyClusterMetadata(layout: Layout): Promise<ManifestPartition> {
  const folder = '__cluster_metadata-0';
  const source = join(kafkaFixtureLogDir(), folder);
  const target = join(layout.dir, folder);
  await mkdir(target, { recursive: true });
  for (const name of await readdir(source)) await copyFile(join(source, name), join(target, name));
  const log = join(target, formatSegmentFileName(0n, 'log'));
  if (layout.state === 'running') {
    await truncate(join(target, formatSegmentFileName(0n, 'index')), layout.preallocate - (layout.preallocate % OFFSET_INDEX_ENTRY_SIZE));
    await truncate(join(target, formatSegmentFileName(0n, 'timeindex')), layout.preallocate - (layout.preallocate % TIME_INDEX_ENTRY_SIZE));
  }
  const headers = await readLogBatchHeaders(log);
  const nextOffset = (headers.at(-1)?.header.lastOffset ?? -1n) + 1n;
  const records = Number(nextOffset);
  const batches = headers.length;
  for (const extension of ['log', 'index', 'timeindex'] as const) {
    await utimes(join(target, formatSegmentFileName(0n, extension)), layout.now, layout.now);
  }
  const generated: GeneratedSegment = {
    segmentPath: `${folder}/${formatSegmentFileName(0n, 'log')}`,
    files: { log, index: join(target, formatSegmentFileName(0n, 'index')), timeindex: join(target, formatSegmentFileName(0n, 'timeindex')) },
    baseOffset: 0n,
    records,
    lastOffset: nextOffset - 1n,
    nextOffset,
    batches,
    logBytes: (await stat(log)).size,
    indexEntries: 0,
    timeIndexEntries: 0,
    lastTimestampMs: 0,
    abortedTransactions: [],
    nextSequence: -1,
    active: true,
  };
  return {
    topic: '__cluster_metadata',
    partition: 0,
    dir: folder,
    internal: true,
    segments: [await manifestSegment(layout, generated, layout.now, true)],
    logStartOffset: 0n,
    logEndOffset: nextOffset,
  };
}

/** `meta.properties`, the four offset checkpoints, `bootstrap.checkpoint` (Kafka 4), `.lock` and, when stopped, `.kafka_cleanshutdown`. */
export async function writeRootFiles(layout: Layout, partitions: ManifestPartition[], nodeId: number): Promise<void> {
  const fixtureMeta = await readFile(join(kafkaFixtureLogDir(), 'meta.properties'), 'utf8');
  const clusterId = /^cluster\.id=(.+)$/m.exec(fixtureMeta)?.[1] ?? kafkaUuid('cluster');
  await writeFile(join(layout.dir, 'meta.properties'), metaProperties({ nodeId, directoryId: kafkaUuid(`${layout.dir}#directory`), clusterId, writtenAt: layout.now }));
  // Kafka checkpoints every partition of the log dir except the metadata log, which keeps its own.
  const logs = partitions.filter((p) => p.topic !== '__cluster_metadata');
  const ends: PartitionOffset[] = logs.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.logEndOffset }));
  await writeFile(join(layout.dir, 'recovery-point-offset-checkpoint'), offsetCheckpoint(ends));
  await writeFile(join(layout.dir, 'replication-offset-checkpoint'), offsetCheckpoint(ends));
  // Only a log start offset above the first segment's base is checkpointed; retention leaves none.
  await writeFile(join(layout.dir, 'log-start-offset-checkpoint'), offsetCheckpoint([]));
  const compacted = logs.filter((p) => p.topic === 'user-profiles.compacted');
  await writeFile(
    join(layout.dir, 'cleaner-offset-checkpoint'),
    offsetCheckpoint(compacted.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.segments[0]?.nextOffset ?? 0n }))),
  );
  await copyFile(join(kafkaFixtureLogDir(), 'bootstrap.checkpoint'), join(layout.dir, 'bootstrap.checkpoint'));
  await writeFile(join(layout.dir, '.lock'), '');
  if (layout.state === 'stopped') await writeFile(join(layout.dir, '.kafka_cleanshutdown'), cleanShutdownFile(nodeId + 10));
}
