import type { Dirent } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parsePartitionDir, segmentFileOf, segmentFileName, segmentPathOf, type SegmentId } from './segment-path.js';
import { readTopicId } from '../kafka/partition-metadata.js';
import { type SegmentFileExtension } from '../kafka/segment-file-name.js';

/** A segment found on local disk. */
export interface LocalSegment extends SegmentId {
  /** Sizes of the segment's files that exist (`log` always); a sparse preallocated index counts the bytes it holds. */
  readonly files: { readonly log: { size: number } } & { readonly [E in Exclude<SegmentFileExtension, 'log'>]?: { size: number } };
  /** The `.log` file's modification time, ms since the epoch. */
  readonly lastModified: number;
  /** The topic id in the partition's `partition.metadata`, when it has a readable one. */
  readonly topicId?: string;
}

/** Folders stat'ed at once; a data dir of many partitions is read without opening them all. */
const PARTITIONS_IN_PARALLEL = 16;

/**
 * Lists the segments of a Kafka log dir: every `<topic>-<partition>/<20-digit>.log` with its
 * `.index`, `.timeindex` and `.txnindex`, and the partition's topic id. Only reads; everything else a broker keeps there
 * (snapshots, checkpoints, `partition.metadata`, `*.deleted`/`*.cleaned`/`*.swap`, `-delete`
 * and `-future` folders, hidden files, symlinks) is left alone. A data dir that does not exist
 * yet has no segments.
 */
export async function scanLogDir(dataDir: string): Promise<LocalSegment[]> {
  const entries = await entriesOf(dataDir);
  const partitions = entries.flatMap((entry) => {
    const parsed = entry.isDirectory() ? parsePartitionDir(entry.name) : undefined;
    return parsed ? [{ ...parsed, dir: join(dataDir, entry.name) }] : [];
  });
  const found: LocalSegment[] = [];
  for (let i = 0; i < partitions.length; i += PARTITIONS_IN_PARALLEL) {
    const batch = await Promise.all(partitions.slice(i, i + PARTITIONS_IN_PARALLEL).map((p) => scanPartition(p.dir, p.topic, p.partition)));
    for (const segments of batch) found.push(...segments);
  }
  return found;
}

/** The segments of one partition folder, in base-offset order. */
export async function scanPartition(dir: string, topic: string, partition: number): Promise<LocalSegment[]> {
  const names = await entriesOf(dir);
  const byOffset = new Map<number, Set<SegmentFileExtension>>();
  for (const entry of names) {
    if (!entry.isFile()) continue;
    const file = segmentFileOf(entry.name);
    if (!file) continue;
    let extensions = byOffset.get(file.baseOffset);
    if (!extensions) byOffset.set(file.baseOffset, (extensions = new Set()));
    extensions.add(file.extension);
  }
  const segments: LocalSegment[] = [];
  const topicId = byOffset.size > 0 ? await readTopicId(dir) : undefined;
  for (const [baseOffset, extensions] of [...byOffset].sort((a, b) => a[0] - b[0])) {
    // Index files without their .log are leftovers of a deletion in progress, not a segment.
    if (!extensions.has('log')) continue;
    const path = segmentPathOf(topic, partition, baseOffset);
    const files: Record<string, { size: number }> = {};
    let lastModified = 0;
    let complete = true;
    for (const extension of extensions) {
      const stats = await lstat(join(dir, segmentFileName(baseOffset, extension))).catch(() => undefined);
      if (!stats?.isFile()) {
        // Gone between readdir and stat: Kafka deleted it; a missing .log means no segment.
        if (extension === 'log') complete = false;
        continue;
      }
      // A running broker preallocates its active segment's indexes (10 MiB, sparse): count the
      // bytes they hold on disk, not the length they were stretched to.
      files[extension] = { size: extension === 'log' ? stats.size : Math.min(stats.size, stats.blocks * 512) };
      if (extension === 'log') lastModified = Math.floor(stats.mtimeMs);
    }
    if (!complete) continue;
    segments.push({ path, topic, partition, baseOffset, files: files as LocalSegment['files'], lastModified, ...(topicId !== undefined ? { topicId } : {}) });
  }
  return segments;
}

/** A folder's entries; none for a folder that is not there (a data dir not made yet, a partition just deleted). */
async function entriesOf(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}
