import type { CycleReport, PlanItem, ReconciliationReport, RebuildReport, SegmentFile, SegmentFiles, SegmentRecord, TieredStats } from '@takhin/core';

// The API's JSON: the seed's snake_case field names (`segment_path`, `policy`, `is_archived`,
// `total_segments`, …) for everything it had, the same style for the rest. Times are ms since
// the epoch, as in the model; sizes are bytes.

export interface SegmentJson {
  segment_path: string;
  topic: string;
  partition: number;
  /** Kafka's topic id (`partition.metadata`), null where it is not known. */
  topic_id: string | null;
  base_offset: number;
  size: number;
  files: Record<string, { size: number; checksums?: { crc32c: string; sha256: string } }>;
  last_modified: number;
  last_access_at: number;
  policy: string;
  is_archived: boolean;
  object_key: string | null;
  checksums: { crc32c: string; sha256: string } | null;
  archived_at: number | null;
  state: string;
  version: number;
}

export function segmentJson(segment: SegmentRecord): SegmentJson {
  return {
    segment_path: segment.path,
    topic: segment.topic,
    partition: segment.partition,
    topic_id: segment.topicId ?? null,
    base_offset: segment.baseOffset,
    size: segment.size,
    files: filesJson(segment.files),
    last_modified: segment.lastModified,
    last_access_at: segment.lastAccessAt,
    policy: segment.policy,
    is_archived: segment.isArchived,
    object_key: segment.objectKey ?? null,
    checksums: segment.checksums ? { crc32c: segment.checksums.crc32c, sha256: segment.checksums.sha256 } : null,
    archived_at: segment.archivedAt ?? null,
    state: segment.state,
    version: segment.version,
  };
}

function filesJson(files: SegmentFiles): SegmentJson['files'] {
  const result: SegmentJson['files'] = {};
  for (const [extension, file] of Object.entries(files) as [string, SegmentFile | undefined][]) {
    if (file === undefined) continue;
    result[extension] = file.checksums ? { size: file.size, checksums: { crc32c: file.checksums.crc32c, sha256: file.checksums.sha256 } } : { size: file.size };
  }
  return result;
}

export function statsJson(stats: TieredStats) {
  return {
    total_segments: stats.totalSegments,
    hot_segments: stats.hotSegments,
    warm_segments: stats.warmSegments,
    cold_segments: stats.coldSegments,
    archived_segments: stats.archivedSegments,
    total_size_bytes: stats.totalSizeBytes,
    local_bytes: stats.localBytes,
    remote_bytes: stats.remoteBytes,
    bytes_by_tier: { hot: stats.hotBytes, warm: stats.warmBytes, cold: stats.coldBytes },
  };
}

export function planItemJson(item: PlanItem) {
  return { segment_path: item.path, from: item.from, to: item.to, action: item.action, rule: item.rule, reason: item.reason };
}

export function cycleJson(report: CycleReport) {
  return {
    started_at: report.startedAt,
    duration_ms: Math.round(report.durationMs),
    planned: report.planned,
    retiered: report.retiered,
    archived: report.archived,
    evicted: report.evicted,
    failed: report.failed,
    deferred: report.deferred,
  };
}

export function rebuildJson(report: RebuildReport) {
  return {
    manifests: report.manifests,
    created: report.created,
    updated: report.updated,
    unarchived: report.unarchived,
    dropped: report.dropped,
    problems: report.problems,
  };
}

export function reconciliationJson(report: ReconciliationReport) {
  return {
    archives_finished: report.archivesFinished,
    archives_rolled_back: report.archivesRolledBack,
    restores_finished: report.restoresFinished,
    restores_rolled_back: report.restoresRolledBack,
    local_copies_deleted: report.localCopiesDeleted,
    orphans_deleted: report.orphansDeleted,
    temp_files_deleted: report.tempFilesDeleted,
    records_dropped: report.recordsDropped,
    deleted_topic_segments: report.deletedTopicSegments,
    problems: report.problems,
    postponed: report.postponed,
  };
}
