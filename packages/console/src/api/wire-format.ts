import type { ArchiverStatus, ColdStoreClaimState, CycleReport, OperationFailure, PlanItem, ReconciliationReport, RebuildReport, SegmentFile, SegmentFiles, SegmentRecord, TieredStats, TieredStorage } from '@takhin/core';
import { toApiError } from '../http/error-mapping.js';

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

/**
 * The whole `GET /api/v1/tiered/stats` document (and `takhin-tiered stats --json`): the counts,
 * what reconciliation left, whose the cold store's prefix is, and how the archiver's last cycle went.
 */
export function statsDocument(tiered: TieredStorage) {
  return {
    ...statsJson(tiered.getStats()),
    reconciliation: reconciliationJson(tiered.lastReconciliation),
    cold_store: coldStoreJson(tiered.store.backend, tiered.coldStoreClaim),
    archiver: archiverJson(tiered.archiverStatus),
  };
}

/**
 * A failure as an endpoint would answer it (`error-mapping.ts`): the stable `code`
 * (`COLD_STORE_CLAIMED`, `COLD_STORE_UNAVAILABLE`, …) and its `message`. An unexpected error
 * (a bug) is `INTERNAL` without its details, as a request's is: `serve` logs them on stderr.
 */
export function failureJson(error: Error): { code: string; message: string } {
  const { code, message } = toApiError(error, () => {});
  if (code === 'INTERNAL') return { code, message: 'an unexpected error; takhin-tiered serve logs its details on stderr' };
  return { code, message };
}

/**
 * Whose the cold store's prefix was at the last check (docs/ARCHITECTURE.md, "The cold store's
 * owner"): `claim` is `owned`, `claimed` (by `owner`, null when its claim cannot be read) or
 * `unchecked` (`error` says why: the store did not answer); `checked_at` is when it was asked.
 */
export function coldStoreJson(backend: string, claim: ColdStoreClaimState) {
  const owner = claim.status === 'claimed' ? claim.owner : undefined;
  const claimedAt = owner === undefined ? NaN : Date.parse(owner.claimedAt);
  return {
    backend,
    claim: claim.status,
    checked_at: claim.checkedAt ?? null,
    owner: owner === undefined ? null : { id: owner.id, data_dir: owner.dataDir, host: owner.host, claimed_at: Number.isFinite(claimedAt) ? claimedAt : null },
    error: claim.status === 'owned' || claim.error === undefined ? null : failureJson(claim.error),
  };
}

/**
 * The background archiver: whether it runs (`running`, every `interval_ms`) and how its last cycle
 * went, in the background or asked for (`last_cycle`, null before the first): `ok`, or the
 * `failure` (the cycle's own, its refresh, with no `report`; else its first failing step).
 */
export function archiverJson(status: ArchiverStatus) {
  const last = status.lastCycle;
  return {
    running: status.running,
    interval_ms: status.intervalMs,
    last_cycle:
      last === undefined
        ? null
        : {
            started_at: last.startedAt,
            finished_at: last.finishedAt,
            ok: last.failure === undefined,
            report: last.report === undefined ? null : cycleJson(last.report),
            failure: last.failure === undefined ? null : operationFailureJson(last.failure),
          },
    last_success_at: status.lastSuccessAt ?? null,
    last_failure_at: status.lastFailureAt ?? null,
  };
}

function operationFailureJson(failure: OperationFailure) {
  return { operation: failure.operation, segment_path: failure.path ?? null, ...failureJson(failure.error), retry_at: failure.retryAt ?? null };
}
