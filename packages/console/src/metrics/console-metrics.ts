import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { TIERS, type ColdStoreClaimState, type OperationFailure, type TieredStorage } from '@takhin/core';
import { remoteReadsText, storeMetricsText } from './store-metrics-text.js';

/** Operations whose outcome is counted: what the API, the CLI and the background archiver run. */
type TrackedOperation = 'archive' | 'restore' | 'evict';

/** The values of `tiered_storage_cold_store_claim{state}`. */
const CLAIM_STATES = ['owned', 'claimed', 'unchecked'] as const satisfies readonly ColdStoreClaimState['status'][];

/** `lastReconciliation` counters, by the `repair` label they are exported under. */
const REPAIRS = {
  archives_finished: 'archivesFinished',
  archives_rolled_back: 'archivesRolledBack',
  restores_finished: 'restoresFinished',
  restores_rolled_back: 'restoresRolledBack',
  local_copies_deleted: 'localCopiesDeleted',
  orphans_deleted: 'orphansDeleted',
  temp_files_deleted: 'tempFilesDeleted',
  records_dropped: 'recordsDropped',
  deleted_topic_segments: 'deletedTopicSegments',
} as const;

/**
 * The console's Prometheus metrics, on a registry of its own (never prom-client's global one, so
 * two consoles in one process, or a host application's metrics, never collide). Counts and
 * bytes per tier are read from the model at scrape time, operations are counted from the
 * model's events, and per-backend requests and remote reads are read from core's counters.
 *
 * `tiered_storage_s3_bytes_uploaded` / `_downloaded` keep the seed's names whatever the backend:
 * they are the bytes archives sent to, and restores fetched from, the cold store in use.
 */
export class ConsoleMetrics {
  readonly registry = new Registry();
  readonly #operations: Record<TrackedOperation, Counter<'result'>>;
  readonly #failures: Counter<'operation'>;
  readonly #uploaded: Counter;
  readonly #downloaded: Counter;
  readonly #reused: Counter;
  readonly #duration: Histogram<'operation'>;
  readonly #unsubscribe: () => void;

  constructor(private readonly tiered: TieredStorage) {
    const registers = [this.registry];
    const stats = () => tiered.getStats();
    new Gauge({
      name: 'tiered_storage_segments_total',
      help: 'Segments by tier (policy): hot and warm on local disk, cold only in the cold store.',
      labelNames: ['policy'],
      registers,
      collect() {
        const now = stats();
        this.set({ policy: 'hot' }, now.hotSegments);
        this.set({ policy: 'warm' }, now.warmSegments);
        this.set({ policy: 'cold' }, now.coldSegments);
      },
    });
    new Gauge({ name: 'tiered_storage_archived_segments_total', help: 'Segments with a verified copy in the cold store (restored ones included).', registers, collect() { this.set(stats().archivedSegments); } });
    new Gauge({ name: 'tiered_storage_total_size_bytes', help: "Sum of the segments' .log sizes, wherever they are.", registers, collect() { this.set(stats().totalSizeBytes); } });
    new Gauge({ name: 'tiered_storage_local_bytes', help: 'Bytes of segment files on local disk.', registers, collect() { this.set(stats().localBytes); } });
    new Gauge({ name: 'tiered_storage_remote_bytes', help: 'Bytes of segment files in the cold store.', registers, collect() { this.set(stats().remoteBytes); } });
    new Gauge({
      name: 'tiered_storage_tier_bytes',
      help: 'Bytes of segment files by tier (hot and warm local, cold remote).',
      labelNames: ['policy'],
      registers,
      collect() {
        const now = stats();
        const bytes = { hot: now.hotBytes, warm: now.warmBytes, cold: now.coldBytes };
        for (const tier of TIERS) this.set({ policy: tier }, bytes[tier]);
      },
    });
    new Gauge({
      name: 'tiered_storage_reconciliation_repairs',
      help: 'What crash reconciliation repaired since this process opened the data dir, by repair.',
      labelNames: ['repair'],
      registers,
      collect() {
        const report = tiered.lastReconciliation;
        for (const [label, field] of Object.entries(REPAIRS)) this.set({ repair: label }, report[field]);
      },
    });
    new Gauge({ name: 'tiered_storage_reconciliation_problems', help: 'Conflicts reconciliation left for an operator (nothing was deleted for them).', registers, collect() { this.set(tiered.lastReconciliation.problems.length); } });
    new Gauge({
      name: 'tiered_storage_reconciliation_postponed',
      help: 'Segments reconciliation could not decide at open because a request failed (the cold store down); reconciled by the first refresh that gets through.',
      registers,
      collect() {
        this.set(tiered.lastReconciliation.postponed.length);
      },
    });

    // Whose the cold store's prefix is (docs/ARCHITECTURE.md, "The cold store's owner"), as last checked.
    const claim = () => tiered.coldStoreClaim;
    new Gauge({
      name: 'tiered_storage_cold_store_owned',
      help: "1 while the cold store's prefix is this data dir's as last checked; 0 when another data dir claimed it or the claim could not be checked (nothing is archived then).",
      registers,
      collect() {
        this.set(claim().status === 'owned' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'tiered_storage_cold_store_claim',
      help: "The claim's state as last checked: 1 for the current one of owned, claimed (by another data dir) and unchecked (the cold store did not answer).",
      labelNames: ['state'],
      registers,
      collect() {
        const now = claim().status;
        for (const state of CLAIM_STATES) this.set({ state }, state === now ? 1 : 0);
      },
    });
    new Gauge({
      name: 'tiered_storage_cold_store_claim_checked_timestamp_seconds',
      help: 'When the claim was last checked (0: never).',
      registers,
      collect() {
        this.set((claim().checkedAt ?? 0) / 1000);
      },
    });
    // The archiver's last cycles, in the background or asked for: alert when the failure is newer than the success.
    const archiver = () => tiered.archiverStatus;
    new Gauge({
      name: 'tiered_storage_archiver_last_success_timestamp_seconds',
      help: 'When the last archiver cycle that had no failure ended (0: none yet in this process).',
      registers,
      collect() {
        this.set((archiver().lastSuccessAt ?? 0) / 1000);
      },
    });
    new Gauge({
      name: 'tiered_storage_archiver_last_failure_timestamp_seconds',
      help: 'When the last archiver cycle that failed (its refresh, or any of its steps) ended (0: none yet in this process).',
      registers,
      collect() {
        this.set((archiver().lastFailureAt ?? 0) / 1000);
      },
    });

    const operations = (name: TrackedOperation, help: string) => new Counter({ name: `tiered_storage_${name}_operations_total`, help, labelNames: ['result'], registers });
    this.#operations = {
      archive: operations('archive', 'Archives by result: success (uploaded, verified, committed, local files deleted) or failure.'),
      restore: operations('restore', 'Restores by result.'),
      evict: operations('evict', 'Evictions (local delete of an archived segment, no upload) by result.'),
    };
    // Real zeros: nothing has succeeded or failed in this process yet.
    for (const counter of Object.values(this.#operations)) for (const result of ['success', 'failure']) counter.inc({ result }, 0);
    this.#failures = new Counter({ name: 'tiered_storage_operation_failures_total', help: 'Failed operations by kind (archive, restore, evict, retier, reconcile, cycle).', labelNames: ['operation'], registers });
    this.#uploaded = new Counter({ name: 'tiered_storage_s3_bytes_uploaded', help: "Bytes archives uploaded to the cold store (the seed's name; counts every backend).", registers });
    this.#downloaded = new Counter({ name: 'tiered_storage_s3_bytes_downloaded', help: "Bytes restores downloaded from the cold store (the seed's name; counts every backend).", registers });
    this.#reused = new Counter({ name: 'tiered_storage_archive_reused_files_total', help: 'Files an archive did not upload because a verified copy was already there.', registers });
    this.#duration = new Histogram({
      name: 'tiered_storage_operation_duration_seconds',
      help: 'Time an archive or restore took, end to end.',
      labelNames: ['operation'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });

    const archived = (_: unknown, summary: { bytes: number; durationMs: number; reused?: number }) => {
      this.#operations.archive.inc({ result: 'success' });
      this.#uploaded.inc(summary.bytes);
      this.#reused.inc(summary.reused ?? 0);
      this.#duration.observe({ operation: 'archive' }, summary.durationMs / 1000);
    };
    const restored = (_: unknown, summary: { bytes: number; durationMs: number }) => {
      this.#operations.restore.inc({ result: 'success' });
      this.#downloaded.inc(summary.bytes);
      this.#duration.observe({ operation: 'restore' }, summary.durationMs / 1000);
    };
    const evicted = () => this.#operations.evict.inc({ result: 'success' });
    const failed = (failure: OperationFailure) => this.#failed(failure.operation);
    tiered.on('segment:archived', archived);
    tiered.on('segment:restored', restored);
    tiered.on('segment:evicted', evicted);
    tiered.on('operation:failed', failed);
    this.#unsubscribe = () => {
      tiered.off('segment:archived', archived);
      tiered.off('segment:restored', restored);
      tiered.off('segment:evicted', evicted);
      tiered.off('operation:failed', failed);
    };
  }

  /** The exposition text for `GET /metrics`. */
  async render(): Promise<{ contentType: string; body: string }> {
    const body = [await this.registry.metrics(), storeMetricsText(this.tiered.storeMetrics.snapshot()), remoteReadsText(this.tiered.remoteReadStats())].join('');
    return { contentType: this.registry.contentType, body };
  }

  close(): void {
    this.#unsubscribe();
  }

  #failed(operation: OperationFailure['operation']): void {
    this.#failures.inc({ operation });
    if (operation === 'archive' || operation === 'restore' || operation === 'evict') this.#operations[operation].inc({ result: 'failure' });
  }
}
