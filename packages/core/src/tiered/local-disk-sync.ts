import type { SegmentFiles, SegmentRecord } from '../metadata/segment-record.js';
import type { LocalSegment } from '../segments/log-dir-scanner.js';
import type { RecordDraft } from './segment-catalog.js';

/** What the local disk says that the metadata does not know yet. */
export interface LocalDiskChanges {
  /** Segments seen for the first time. */
  readonly discovered: RecordDraft[];
  /** Known local segments whose files changed size or time (the active segment grows). */
  readonly changed: RecordDraft[];
  /** Archived local segments whose local copy is gone (deleted by the broker's retention): their records as found, to turn COLD. */
  readonly nowCold: SegmentRecord[];
  /** Never-archived segments whose files are gone: the broker deleted them. */
  readonly vanished: string[];
  /**
   * Records in an operation state, or whose local presence contradicts their tier: only
   * reconciliation, which also asks the cold store, may decide about them.
   */
  readonly unsettled: SegmentRecord[];
}

/**
 * Compares a scan of the data dir with the records. Pure: it decides, the caller commits.
 * A segment is local when its `.log` is on disk.
 */
export function compareWithLocalDisk(local: readonly LocalSegment[], records: Iterable<SegmentRecord>, find: (path: string) => SegmentRecord | undefined): LocalDiskChanges {
  const changes: LocalDiskChanges = { discovered: [], changed: [], nowCold: [], vanished: [], unsettled: [] };
  const seen = new Set<string>();
  for (const segment of local) {
    seen.add(segment.path);
    const record = find(segment.path);
    if (!record) {
      changes.discovered.push({
        path: segment.path,
        topic: segment.topic,
        partition: segment.partition,
        baseOffset: segment.baseOffset,
        size: segment.files.log.size,
        files: segment.files,
        lastModified: segment.lastModified,
        lastAccessAt: segment.lastModified,
        policy: 'hot',
        isArchived: false,
        state: 'idle',
        ...(segment.topicId !== undefined ? { topicId: segment.topicId } : {}),
      });
    } else if (record.state !== 'idle' || record.policy === 'cold') {
      changes.unsettled.push(record);
    } else if (!record.isArchived && (differs(record, segment) || adoptsTopicId(record, segment))) {
      changes.changed.push({ ...record, size: segment.files.log.size, files: segment.files, lastModified: segment.lastModified, ...(segment.topicId !== undefined ? { topicId: segment.topicId } : {}) });
    }
  }
  for (const record of records) {
    if (seen.has(record.path)) continue;
    if (record.state !== 'idle') changes.unsettled.push(record);
    else if (record.policy === 'cold') continue;
    else if (record.isArchived) changes.nowCold.push(record);
    else changes.vanished.push(record.path);
  }
  return changes;
}

/**
 * A never-archived record takes its partition's topic id when it has none (its partition got a
 * `partition.metadata` after the segment was found, or the record predates ids): its files are
 * the ones in that partition. Archived records keep what their manifest says.
 */
function adoptsTopicId(record: SegmentRecord, segment: LocalSegment): boolean {
  return record.topicId === undefined && segment.topicId !== undefined;
}

function differs(record: SegmentRecord, segment: LocalSegment): boolean {
  if (record.lastModified !== segment.lastModified) return true;
  const a: SegmentFiles = record.files;
  const b = segment.files;
  return a.log.size !== b.log.size || a.index?.size !== b.index?.size || a.timeindex?.size !== b.timeindex?.size || a.txnindex?.size !== b.txnindex?.size;
}
