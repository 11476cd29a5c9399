import { TieringError } from '../errors/tiering-error.js';
import { readTopicId } from '../kafka/partition-metadata.js';
import type { SegmentRecord } from '../metadata/segment-record.js';
import type { LocalSegment } from '../segments/log-dir-scanner.js';
import { partitionDirName } from '../segments/segment-path.js';
import { deleteSegmentObjects } from './manifest-io.js';
import type { ProtocolContext } from './protocol-context.js';
import type { ReconciliationReport } from './reconciliation.js';
import { partitionDirOf } from './segment-files.js';

// A topic deleted and created again under the same name (docs/ARCHITECTURE.md, "Topic ids"):
// the new topic's partitions get a new `partition.metadata` id and start again at offset 0,
// while the records and cold copies of the old one remain under the same segment paths.
// Read as the partition's own, the old ones would shadow the new segments (reads would serve
// the old topic's bytes) and their keys would block the new segments' archives. Kafka deletes a
// deleted topic's remote data; so does this, once the partition shows the new id.

/** Records deleted in one commit. */
const COMMIT_BATCH = 5_000;

/**
 * The records whose topic id is not the one their partition folder has now, by a scan of the
 * data dir. A record or a partition without an id is never judged.
 */
export function recordsOfDeletedTopics(local: readonly LocalSegment[], records: Iterable<SegmentRecord>): SegmentRecord[] {
  // By topic, then partition: a sync walks every record, and a key string each would be a million allocations.
  const current = new Map<string, Map<number, string>>();
  for (const segment of local) {
    if (segment.topicId === undefined) continue;
    let partitions = current.get(segment.topic);
    if (partitions === undefined) current.set(segment.topic, (partitions = new Map()));
    partitions.set(segment.partition, segment.topicId);
  }
  if (current.size === 0) return [];
  const deleted: SegmentRecord[] = [];
  for (const record of records) {
    if (record.topicId === undefined) continue;
    const id = current.get(record.topic)?.get(record.partition);
    if (id !== undefined && id !== record.topicId) deleted.push(record);
  }
  return deleted;
}

/**
 * Deletes the cold copies and then the records of segments of deleted topics, counting them in
 * `report`. The manifest goes first, so a rebuild can never bring back a segment half deleted.
 * Local files are not touched: the files under those paths now are the new topic's. A cold
 * store that fails fails the sync, having deleted the records of what it did delete; the next
 * sync, finding the rest, carries on (and until then they are refused to every operation).
 */
export async function deleteSegmentsOfDeletedTopics(context: ProtocolContext, records: readonly SegmentRecord[], report: ReconciliationReport): Promise<void> {
  const { store, catalog } = context;
  const deleted: string[] = [];
  try {
    for (const record of records) {
      // A never-archived record that no archive was writing has nothing in the cold store.
      if (record.isArchived || record.state !== 'idle') await deleteSegmentObjects(store, record.path);
      deleted.push(record.path);
    }
  } finally {
    for (let i = 0; i < deleted.length; i += COMMIT_BATCH) await catalog.apply([], deleted.slice(i, i + COMMIT_BATCH));
    report.deletedTopicSegments += deleted.length;
  }
}

/**
 * Refuses to move a segment of a deleted topic (before a sync has deleted it): restoring it
 * would put the old topic's bytes in the new topic's folder, archiving it would record them as
 * the new topic's. Returns the topic id to record for the segment: its partition's now, or the
 * one it had.
 */
export async function requireTopicNotDeleted(dataDir: string, segment: SegmentRecord, operation: string): Promise<string | undefined> {
  const current = await readTopicId(partitionDirOf(dataDir, segment));
  if (segment.topicId !== undefined && current !== undefined && current !== segment.topicId) {
    throw new TieringError(
      'NOT_ALLOWED',
      `cannot ${operation} ${segment.path}: it is a segment of topic id ${segment.topicId}, a topic "${segment.topic}" since deleted; ${partitionDirName(segment.topic, segment.partition)} is now topic id ${current} (created again under the same name), and the next refresh deletes the old topic's segments`,
      segment.path,
    );
  }
  return current ?? segment.topicId;
}
