import { join } from 'node:path';
import { EventEmitter } from 'eventemitter3';
import { inject, injectable } from 'tsyringe';
import type { TakhinConfig } from '../config/takhin-config.js';
import type { BackendTarget } from '../contracts/backend-provider.js';
import type { ColdStore } from '../contracts/cold-store.js';
import { BACKEND_TARGET, CLOCK, COLD_STORE, METADATA_STORE, PROTOCOL_OBSERVER, TAKHIN_CONFIG, TRANSFER_WORKERS } from '../di/tokens.js';
import { STORE_METRICS } from '../metrics/store-metrics-token.js';
import type { StoreMetricsRegistry } from '../metrics/store-metrics.js';
import { ColdStoreError } from '../errors/cold-store-error.js';
import { ConfigError } from '../errors/config-error.js';
import { TieringError } from '../errors/tiering-error.js';
import type { MetadataStore } from '../metadata/metadata-store.js';
import type { SegmentFilter, TieredStats } from '../metadata/segment-index.js';
import type { SegmentRecord, Tier } from '../metadata/segment-record.js';
import type { Clock } from '../policy/clock.js';
import { PolicyEngine } from '../policy/policy-engine.js';
import { planStep, type PlanItem } from '../policy/tier-plan.js';
import { parseSegmentPath } from '../segments/segment-path.js';
import { type SegmentFileExtension } from '../kafka/segment-file-name.js';
import type { TransferPool } from '../transfer/transfer-pool.js';
import type { ArchiveResult } from './archive-protocol.js';
import { BackgroundArchiver, type ArchiverStatus, type CycleReport, type StopOptions } from './background-archiver.js';
import { CLAIM_RECHECK_MS, ColdStoreClaim, type ColdStoreClaimState } from './cold-store-claim.js';
import { DataDirLock } from './data-dir-lock.js';
import { RemoteReads, type ReadAtOptions, type ReadAtResult } from '../reads/remote-reads.js';
import type { RemoteReadCounters } from '../reads/remote-read-counters.js';
import { checkDataDir } from '../config/data-dir.js';
import { siblingOf } from '../config/load-config.js';
import { DataDirSync } from './data-dir-sync.js';
import { rebuildFromManifests, type RebuildReport } from './manifest-rebuild.js';
import { OffsetReads } from './offset-reads.js';
import type { ProtocolContext } from './protocol-context.js';
import type { ProtocolObserver } from './protocol-steps.js';
import { Reconciliation, emptyReport, type ReconciliationReport } from './reconciliation.js';
import { runningBroker, stepBesideBroker, type RunningBroker } from './running-broker.js';
import type { EvictResult, RestoreResult } from './restore-protocol.js';
import { SegmentCatalog } from './segment-catalog.js';
import { localPathOf } from './segment-files.js';
import { checkSegmentFilter } from './segment-filter.js';
import { SegmentLocks, type HoldSegment } from './segment-locks.js';
import { SegmentOperations } from './segment-operations.js';
import type { TieredStorageEvents } from './tiered-events.js';
import type { OpenedSegment, OpenOptions, OperationOptions, PlanOptions } from './tiered-storage-options.js';

/** `openSegment` records a use at most this often per segment, so hot reads do not write metadata each time. */
const ACCESS_WRITE_INTERVAL_MS = 60_000;

/**
 * The tiering model and protocols of one data dir: every segment, its tier and archive state
 * (in the metadata store, with an in-memory index in front), the policy's plan, and the
 * archive, restore and evict protocols with crash reconciliation and the background archiver.
 * Get it from `openTieredStorage(container)`.
 */
@injectable()
export class TieredStorage extends EventEmitter<TieredStorageEvents> {
  readonly dataDir: string;
  readonly #catalog: SegmentCatalog;
  readonly #context: ProtocolContext;
  readonly #operations: SegmentOperations;
  readonly #reconciliation: Reconciliation;
  readonly #archiver: BackgroundArchiver;
  readonly #locks: SegmentLocks;
  readonly #reads: RemoteReads;
  readonly #offsets: OffsetReads;
  readonly #dataDir: DataDirSync;
  /** Whether the cold store's prefix is this data dir's: checked by every sync, before anything is written or deleted there. */
  readonly #claim: ColdStoreClaim;
  #lastReconciliation: ReconciliationReport = emptyReport();
  /** A Kafka broker running on the data dir, as of the last refresh. */
  #broker: RunningBroker | undefined;
  #lock: DataDirLock | undefined;
  #opened: Promise<void> | undefined;
  /** The last sync asked for, settled or not: the next one starts once it has (`#sync`). */
  #syncing: Promise<void> = Promise.resolve();
  #closed: Promise<void> | undefined;

  constructor(
    @inject(TAKHIN_CONFIG) readonly config: TakhinConfig,
    @inject(METADATA_STORE) metadata: MetadataStore,
    @inject(PolicyEngine) readonly engine: PolicyEngine,
    @inject(COLD_STORE) readonly store: ColdStore,
    @inject(TRANSFER_WORKERS) readonly pool: TransferPool,
    @inject(BACKEND_TARGET) target: BackendTarget,
    @inject(CLOCK) readonly clock: Clock,
    @inject(PROTOCOL_OBSERVER) observer: ProtocolObserver,
    /** Requests, bytes and latency of every cold-store call, main thread and pool workers alike. */
    @inject(STORE_METRICS) readonly storeMetrics: StoreMetricsRegistry,
  ) {
    super();
    const dataDir = config.storage.data.dir;
    if (dataDir === undefined) throw new ConfigError('storage.data.dir', 'is required to open tiered storage: the broker log dir whose segments are tiered');
    this.dataDir = dataDir;
    this.#catalog = new SegmentCatalog(metadata);
    this.#locks = new SegmentLocks(store.backend);
    this.#claim = new ColdStoreClaim(dataDir, store, clock);
    const settings = config.storage.tiered;
    this.#context = { dataDir, settings, catalog: this.#catalog, store, pool, target, clock, observer, events: this };
    const exclusive: HoldSegment = (path, work) => this.#locks.run(path, 'reconcile', work);
    this.#reconciliation = new Reconciliation(this.#context, exclusive);
    const budget = settings.localCacheSizeMb * 1024 * 1024;
    this.#reads = new RemoteReads(dataDir, settings.cache.dir ?? join(siblingOf(dataDir), 'cache'), store, () => budget - this.#catalog.index.restoredBytes);
    this.#operations = new SegmentOperations(this.#context, this.#locks, this.#claim, this.#reads, (path) => this.getSegment(path));
    this.#offsets = new OffsetReads(dataDir, this.#catalog, this.#reads, (path) => this.getSegment(path));
    this.#dataDir = new DataDirSync(this.#context, engine, this.#reconciliation, (path) => this.#locks.busy(path), () => this.#reads.chunks.bytes, (path) => this.#reads.forget(path), exclusive);

    this.#archiver = new BackgroundArchiver(
      {
        refresh: () => this.refresh(),
        plan: (options) => this.plan(options),
        apply: (step, signal) => this.#operations.apply(step, signal),
        now: () => clock.now(),
        failed: (failure) => this.emit('operation:failed', failure),
      },
      settings.archiveIntervalMinutes * 60_000,
      settings.archiveConcurrency,
    );
  }

  /**
   * Loads the metadata, reconciles it with the data dir and the cold store (finishing or rolling
   * back whatever a crash interrupted), and records segments that appeared. Called by
   * `openTieredStorage`. A data dir that is missing or not a folder is a `ConfigError`; a cold
   * store whose prefix another data dir claimed, `COLD_STORE_CLAIMED` (unless `takeOverColdStore`).
   */
  open(options: OpenOptions = {}): Promise<void> {
    this.#opened ??= (async () => {
      await checkDataDir(this.dataDir);
      this.#lock = await DataDirLock.acquire(this.dataDir, options.owner);
      if (options.takeOverColdStore === true) this.#claim.requestTakeOver();
      // Before the metadata file is made: a data dir refused the prefix is left as it was found (but for its id).
      const unchecked = await this.#checkClaim();
      await this.#catalog.load();
      await this.#sync(true, { unchecked });
    })();
    return this.#opened;
  }

  /**
   * Re-reads the data dir: new segments are recorded (and placed hot or warm by the policy),
   * grown ones updated, ones the broker deleted forgotten, and leftovers of interrupted
   * operations reconciled.
   */
  async refresh(): Promise<void> {
    this.#checkOpen();
    await this.#sync(false);
  }

  /** What the last reconciliation repaired (at open, and in each refresh since). */
  get lastReconciliation(): ReconciliationReport {
    return this.#lastReconciliation;
  }

  /**
   * Whose the cold store's prefix was at the last check (docs/ARCHITECTURE.md, "The cold store's
   * owner"): this data dir's, another's (naming it), or unchecked and why. Asks nothing.
   */
  get coldStoreClaim(): ColdStoreClaimState {
    return this.#claim.state;
  }

  /** Whether the background archiver runs, and how its last cycle (background or `runCycle`) ended. */
  get archiverStatus(): ArchiverStatus {
    return this.#archiver.status;
  }

  // --- the model -------------------------------------------------------------------------------

  /** The segment at `path` (`<topic>-<partition>/<base>.log`); an unknown or malformed path throws. */
  getSegment(path: string): SegmentRecord {
    const record = this.#catalog.index.get(path);
    if (record !== undefined) return record;
    throw this.#notFound(path);
  }

  getSegmentPolicy(path: string): Tier {
    return this.getSegment(path).policy;
  }

  isSegmentArchived(path: string): boolean {
    return this.getSegment(path).isArchived;
  }

  /**
   * The segment holding `offset` by base offset (the last segment starting at or before it),
   * archived or not. An unknown partition or an offset before the first segment throws.
   */
  findSegment(topic: string, partition: number, offset: number): SegmentRecord {
    return this.#offsets.findSegment(topic, partition, offset);
  }

  /** Segments matching `filter`, ordered by topic, partition and base offset. */
  listSegments(options: SegmentFilter = {}): SegmentRecord[] {
    const filter = checkSegmentFilter(options);
    // A cursor is a position: it still works when its segment was deleted since the last page.
    const after = filter.after === undefined ? undefined : (this.#catalog.index.get(filter.after) ?? parseSegmentPath(filter.after));
    return this.#catalog.index.list(filter, after);
  }

  /** Counts and bytes by tier; O(1). */
  getStats(): TieredStats {
    return this.#catalog.index.stats();
  }

  /** What a cycle would do to each segment, with the deciding rule and its reason. Changes nothing. */
  plan(options: PlanOptions = {}): PlanItem[] {
    this.#checkOpen();
    const index = this.#catalog.index;
    const context = this.engine.context(index.values(), (segment) => index.isLast(segment), this.#reads.chunks.bytes);
    const items: PlanItem[] = [];
    for (const segment of index.inOrder()) {
      // An archive that failed in this process resumes; one another operation holds waits.
      const idle = segment.state === 'archiving' && !this.#locks.busy(segment.path) ? { ...segment, state: 'idle' as const } : segment;
      const item = stepBesideBroker(planStep(idle, this.engine.decide(segment, context)), this.dataDir, this.#broker);
      if (!options.changesOnly || item.action !== 'none') items.push(item);
    }
    return items;
  }

  /**
   * The record batches a Kafka fetch of `offset` returns: from the batch holding it, whole
   * batches, at most `maxBytes` (at least one batch; and at most `MAX_READ_BYTES`, 64 MiB, whatever
   * `maxBytes` asks), with the segment, position and next offset.
   * The same for a local segment and an archived one, which is never restored: only the chunks
   * holding the bytes are fetched, each verified. Past the partition's last record, or in a
   * never-archived segment the broker deleted since the last refresh: `OFFSET_OUT_OF_RANGE`; an
   * offset or `maxBytes` that is not a whole number: `INVALID_ARGUMENT`.
   */
  async readAt(topic: string, partition: number, offset: number, options: ReadAtOptions = {}): Promise<ReadAtResult> {
    this.#checkOpen();
    return this.#offsets.readAt(topic, partition, offset, options);
  }

  /** What remote reads cost and how the chunk cache did, since open. */
  remoteReadStats(): RemoteReadCounters & { cacheBytes: number; cachedChunks: number } {
    return { ...this.#reads.counters, cacheBytes: this.#reads.chunks.bytes, cachedChunks: this.#reads.chunks.chunks };
  }

  // --- the protocols ---------------------------------------------------------------------------

  /**
   * Archives the segment (see `ArchiveProtocol`): uploads and verifies every file, writes the
   * manifest, commits `cold`, then deletes the local files. Already archived: a no-op. The
   * active segment, an internal topic's or a never-tiered topic's: refused.
   */
  archiveSegment(path: string, options: OperationOptions = {}): Promise<ArchiveResult> {
    if (this.#closed) return this.#refuseClosed();
    return this.#operations.archive(path, options);
  }

  /** Why `archiveSegment(path)` would be refused (active segment, internal or never-tiered topic, tiering off), or undefined. */
  archiveRefusal(path: string): string | undefined {
    const segment = this.getSegment(path);
    return segment.isArchived ? undefined : this.#operations.archiveRefusal(segment);
  }

  /**
   * Brings an archived segment back to local disk, verified against its manifest, and marks it
   * hot. Concurrent callers share one restore. Already local: a no-op; recorded local but its
   * `.log` gone (the broker deleted it since the last refresh): `UNKNOWN_SEGMENT`.
   */
  restoreSegment(path: string, options: OperationOptions = {}): Promise<RestoreResult> {
    if (this.#closed) return this.#refuseClosed();
    return this.#operations.restore(path, options);
  }

  /** Restores the segment if it is cold, records the use, and returns its local files. */
  async openSegment(path: string, options: OperationOptions = {}): Promise<OpenedSegment> {
    let segment = (await this.restoreSegment(path, options)).segment;
    const now = this.clock.now();
    if (now - segment.lastAccessAt >= ACCESS_WRITE_INTERVAL_MS) {
      segment = await this.#locks.run(segment.path, 'touch', () => this.#catalog.update(segment.path, { lastAccessAt: now }));
    }
    const files: Record<string, string> = {};
    for (const extension of Object.keys(segment.files) as SegmentFileExtension[]) files[extension] = localPathOf(this.dataDir, segment, extension);
    return { segment, files: files as OpenedSegment['files'] };
  }

  /**
   * Deletes the local files of an archived segment after re-checking its manifest and remote
   * objects; uploads nothing. Already cold: a no-op. Not archived: refused.
   */
  evictSegment(path: string, options: OperationOptions = {}): Promise<EvictResult> {
    if (this.#closed) return this.#refuseClosed();
    return this.#operations.evict(path, options);
  }

  /**
   * Recreates the metadata of every archived segment from the manifests in the cold store
   * alone (a new broker, a lost metadata file), then re-reads the data dir.
   */
  async rebuildFromColdStore(): Promise<RebuildReport> {
    this.#checkOpen();
    await this.#locks.idle();
    // Records of another data dir's archives would be a mistake even before anything is written.
    const unchecked = await this.#checkClaim();
    if (unchecked) throw unchecked;
    const report = await rebuildFromManifests(this.#context, (paths, work) => this.#locks.holdAll(paths, work));
    await this.refresh();
    return report;
  }

  // --- the background archiver -----------------------------------------------------------------

  /**
   * Runs a cycle every `archive.interval.minutes`, when `storage.tiered.enabled` and
   * `auto.archive.enabled`; returns whether it started.
   */
  start(): boolean {
    this.#checkOpen();
    const { enabled, autoArchiveEnabled } = this.config.storage.tiered;
    if (!enabled || !autoArchiveEnabled) return false;
    this.#archiver.start();
    return true;
  }

  /** One cycle now: re-scan, plan, and apply the plan with bounded concurrency. */
  runCycle(): Promise<CycleReport> {
    this.#checkOpen();
    if (!this.config.storage.tiered.enabled) {
      return Promise.reject(new TieringError('TIERING_DISABLED', 'cannot run a cycle: tiered storage is disabled (storage.tiered.enabled: false)'));
    }
    return this.#archiver.runCycle();
  }

  /** Stops the archiver, waiting for the cycle in flight (or aborting it, which rolls each step back). */
  stop(options: StopOptions = {}): Promise<void> {
    return this.#archiver.stop(options);
  }

  /**
   * Stops background work, waits for operations and a refresh in flight, and releases what the container built
   * for this instance: the metadata store, the transfer pool and the cold store. An archive,
   * restore or evict asked once it has begun is refused (`CLOSED`).
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      await this.#opened?.catch(() => {});
      await this.#archiver.stop();
      // A refresh in flight still writes records and asks the store: it ends before they close.
      await this.#syncing;
      await this.#locks.idle();
      await this.#reads.chunks.idle();
      await Promise.allSettled([this.#catalog.store.close(), this.pool.close(), this.store.close()]);
      await this.#lock?.release();
      this.removeAllListeners();
    })();
    return this.#closed;
  }

  // --- internals -------------------------------------------------------------------------------

  /**
   * One sync at a time, each after the one before it: two at once each found the same new
   * segments in their scans and committed them as new, and all but the first failed
   * (`METADATA_CONFLICT`), a cycle's refresh with them.
   */
  #sync(atOpen: boolean, claim?: { unchecked: ColdStoreError | undefined }): Promise<void> {
    const sync = this.#syncing.then(async () => {
      this.#broker = await runningBroker(this.dataDir);
      const unchecked = claim ? claim.unchecked : await this.#checkClaim();
      this.#lastReconciliation = await this.#dataDir.sync(atOpen, atOpen ? emptyReport() : this.#lastReconciliation, unchecked, () => this.#claim.check());
    });
    this.#syncing = sync.catch(() => {});
    return sync;
  }

  /**
   * Checks the cold store's claim when due (docs/ARCHITECTURE.md, "The cold store's owner"), or
   * takes it over if open was told to and has not yet: another data dir's throws; a store that
   * does not answer returns its failure, and the sync then leaves the cold store alone.
   */
  async #checkClaim(): Promise<ColdStoreError | undefined> {
    try {
      await this.#claim.ensure(CLAIM_RECHECK_MS);
      return undefined;
    } catch (error) {
      if (error instanceof ColdStoreError) return error;
      throw error;
    }
  }

  /** Once close() has begun, nothing new starts: it waits only for what is in flight (a cycle's steps too), then shuts the stores. */
  #refuseClosed(): Promise<never> {
    return Promise.reject(new TieringError('CLOSED', 'tiered storage is closed'));
  }

  #checkOpen(): void {
    if (this.#closed) throw new TieringError('CLOSED', 'tiered storage is closed');
  }

  #notFound(path: string): TieringError {
    const id = parseSegmentPath(path);
    return new TieringError('UNKNOWN_SEGMENT', `no segment ${id.path} in ${this.dataDir} or its metadata`, id.path);
  }
}
