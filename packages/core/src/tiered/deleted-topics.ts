import type { ColdStore } from '../contracts/cold-store.js';
import { TieringError } from '../errors/tiering-error.js';
import { CLUSTER_METADATA_DIR, METADATA_TOPIC_ID, REMOVAL_SETTLED_MS, type ClusterTopics } from '../kafka/cluster-metadata.js';
import { readTopicId } from '../kafka/partition-metadata.js';
import type { SegmentRecord } from '../metadata/segment-record.js';
import type { LocalSegment } from '../segments/log-dir-scanner.js';
import { partitionDirName } from '../segments/segment-path.js';
import { deleteSegmentObjects, readUsableManifest } from './manifest-io.js';
import type { ProtocolContext } from './protocol-context.js';
import type { ReconciliationReport } from './reconciliation.js';
import { partitionDirOf } from './segment-files.js';

// A topic deleted and created again under the same name (docs/ARCHITECTURE.md, "Topic ids"):
// the new topic's partitions get a new `partition.metadata` id and start again at offset 0,
// while the records and cold copies of the old one remain under the same segment paths.
// Read as the partition's own, the old ones would shadow the new segments (reads would serve
// the old topic's bytes) and their keys would block the new segments' archives. A topic deleted
// and not created again takes its partition folders away, as a partition moved to another broker
// does; the metadata log of a KRaft broker tells the two apart. Kafka deletes a deleted topic's
// remote data; so does this, once the partition shows the new id or the metadata log the removal.

/** Records deleted in one commit. */
const COMMIT_BATCH = 5_000;

/** The records a scan of the data dir tells apart by their topic ids. */
export interface RecordsByTopicId {
  /** Of a topic deleted and created again: the record's topic id is not the one its partition folder has now. */
  recreated: SegmentRecord[];
  /** Of a partition no longer on this broker's disk (deleted, or moved elsewhere): only the metadata log can say which. */
  absent: SegmentRecord[];
}

/**
 * Sorts out, by a scan of the data dir, the records of topics that may be deleted. A record
 * without an id (made before ids were read) is never judged, nor is one whose partition folder
 * has none.
 */
export function recordsByTopicId(local: readonly LocalSegment[], records: Iterable<SegmentRecord>): RecordsByTopicId {
  // By topic, then partition: a sync walks every record, and a key string each would be a million allocations.
  const current = new Map<string, Map<number, string | undefined>>();
  for (const segment of local) {
    let partitions = current.get(segment.topic);
    if (partitions === undefined) current.set(segment.topic, (partitions = new Map()));
    partitions.set(segment.partition, segment.topicId);
  }
  const sorted: RecordsByTopicId = { recreated: [], absent: [] };
  for (const record of records) {
    if (record.topicId === undefined) continue;
    const partition = current.get(record.topic);
    if (partition === undefined || !partition.has(record.partition)) sorted.absent.push(record);
    else {
      const id = partition.get(record.partition);
      if (id !== undefined && id !== record.topicId) sorted.recreated.push(record);
    }
  }
  return sorted;
}

/**
 * Of the records of partitions gone from this broker's disk, those of topics deleted for good,
 * by the metadata log: a `RemoveTopicRecord` still in the log, or an id the log's topics no
 * longer hold. A partition moved to another broker keeps its topic's id in the log, and its
 * records stay. The log is trusted only if it holds the id of every partition on the disk
 * (it is this broker's and read to its end); otherwise nothing is judged, and `doubt` says why.
 * Nor is an id the log merely lacks judged while a segment of it was written after the log's last
 * record: a stale log (one left in the data dir when `metadata.log.dir` moved) holds every topic
 * on the disk from before its end, and none created since.
 */
export function recordsOfRemovedTopics(local: readonly LocalSegment[], absent: readonly SegmentRecord[], topics: ClusterTopics): { removed: SegmentRecord[]; doubt?: string } {
  const localIds = new Map<string, string>();
  for (const segment of local) if (segment.topicId !== undefined && segment.topicId !== METADATA_TOPIC_ID) localIds.set(segment.topicId, segment.topic);
  const unknown = [...localIds].filter(([id]) => !topics.live.has(id));
  // Doubts name nothing that moves with the log (its end, its times): the report lists each text once.
  if (unknown.length > 0) {
    const [id, topic] = unknown[0]!;
    return {
      removed: [],
      doubt: `the metadata log (${CLUSTER_METADATA_DIR}) does not hold topic "${topic}" (id ${id}) of this data dir${unknown.length > 1 ? ` nor ${unknown.length - 1} more` : ''}; until it does, no segment of a partition gone from this broker is taken for a deleted topic's`,
    };
  }
  // A removal counts once the log has gone on for REMOVAL_SETTLED_MS after it: the end of a
  // follower's log may hold records its controller never committed, which a new leader drops.
  const settled = (id: string) => topics.lastRecordAt !== undefined && topics.lastRecordAt - (topics.removed.get(id) ?? Infinity) >= REMOVAL_SETTLED_MS;
  // With no partition on the disk to check the log by, only a removal the log still records counts.
  const lacked = absent.filter((record) => !topics.removed.has(record.topicId!) && localIds.size > 0 && !topics.live.has(record.topicId!));
  // A topic with a segment written after the log's last record is kept whole.
  const newer = lacked.filter((record) => topics.lastRecordAt === undefined || record.lastModified > topics.lastRecordAt);
  const notJudged = new Set(newer.map((record) => record.topicId!));
  const removed = [
    ...absent.filter((record) => topics.removed.has(record.topicId!) && settled(record.topicId!)),
    ...lacked.filter((record) => !notJudged.has(record.topicId!)),
  ];
  if (newer.length === 0) return { removed };
  return {
    removed,
    doubt: `the metadata log (${CLUSTER_METADATA_DIR}) ends before ${newer[0]!.path} was last written; until it has a later record, no segment written after its end is taken for a deleted topic's`,
  };
}

/** Whether the record may have objects in the cold store: it is archived, or an operation was writing them. */
export function mayHaveColdObjects(record: SegmentRecord): boolean {
  return record.isArchived || record.state !== 'idle';
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
      // A never-archived record that no archive was writing has nothing in the cold store. Under
      // keys whose manifest names another topic id lies the new topic's archive, which another
      // broker sharing the cold store made since (its replica of the partition): not this record's to delete.
      if (mayHaveColdObjects(record) && !(await archivedByAnotherTopic(store, record))) await deleteSegmentObjects(store, record.path);
      deleted.push(record.path);
    }
  } finally {
    for (let i = 0; i < deleted.length; i += COMMIT_BATCH) await catalog.apply([], deleted.slice(i, i + COMMIT_BATCH));
    report.deletedTopicSegments += deleted.length;
  }
}

/** Whether the manifest under the record's keys is another topic's (a topic id not the record's). */
async function archivedByAnotherTopic(store: ColdStore, record: SegmentRecord): Promise<boolean> {
  const { manifest } = await readUsableManifest(store, record.path);
  return manifest?.topicId !== undefined && manifest.topicId !== record.topicId;
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
