import { ColdStoreError } from '../errors/cold-store-error.js';
import type { PolicyEngine } from '../policy/policy-engine.js';
import { scanLogDir, type LocalSegment } from '../segments/log-dir-scanner.js';
import { clusterMetadataStamp, readClusterTopics, type ClusterTopics } from '../kafka/cluster-metadata.js';
import type { SegmentRecord, Tier } from '../metadata/segment-record.js';
import { deleteSegmentsOfDeletedTopics, mayHaveColdObjects, recordsByTopicId, recordsOfRemovedTopics } from './deleted-topics.js';
import { compareWithLocalDisk } from './local-disk-sync.js';
import type { ProtocolContext } from './protocol-context.js';
import { addProblem, type Reconciliation, type ReconciliationReport } from './reconciliation.js';
import { localPathOf, lstatIfPresent } from './segment-files.js';
import type { HoldSegment } from './segment-locks.js';

/**
 * How old an open upload (a multipart write, an FS temp file) must be before it counts as a
 * crashed writer's: other writers may share the cold store, and one segment's upload takes
 * seconds to minutes.
 */
export const STALE_UPLOAD_MS = 60 * 60_000;

/**
 * Brings the records in line with the data dir: segments of a topic since deleted (and perhaps
 * created again under the same name) deleted, segments that appeared recorded (and placed hot or warm by
 * the policy at once), grown ones updated, ones the broker deleted forgotten, and records an
 * interrupted operation left behind handed to reconciliation. At open everything
 * unsettled is reconciled; later, only what no operation in this process holds, and an archive
 * that failed here stays for the next cycle to resume.
 */
export class DataDirSync {
  /**
   * Records whose reconciliation a failed request (the cold store down) postponed at open, with the failure:
   * reconciled by every refresh (an interrupted archive too, which later refreshes otherwise
   * leave for the next cycle to resume) until one reaches the store.
   */
  #waiting = new Map<string, string>();
  /** The metadata log's topics as last read, and the stamp of its files then: read again only once they change. */
  #clusterTopics: { stamp: string; topics: ClusterTopics } | undefined;

  constructor(
    private readonly context: ProtocolContext,
    private readonly engine: PolicyEngine,
    private readonly reconciliation: Reconciliation,
    /** Whether an operation in this process holds the segment. */
    private readonly busy: (path: string) => boolean,
    /** Bytes of the chunk cache, which shares the local budget with segments. */
    private readonly cacheBytes: () => number,
    /** Drops what remote reads cached of a segment whose record was deleted. */
    private readonly forget: (path: string) => Promise<void>,
    /** Runs `work` holding the segment, as an operation does (`segment-locks.ts`). */
    private readonly exclusive: HoldSegment,
  ) {}

  /**
   * Syncs; returns the reconciliation report, added to `report`. `unclaimed` is the cold store's
   * failure when it could not be asked whose prefix it is (docs/ARCHITECTURE.md, "The cold
   * store's owner"): then nothing is written or deleted there, and what needs the store fails the
   * sync with it, as the store itself would have, or at open is postponed. `confirm` asks the
   * cold store again whose prefix it is (`COLD_STORE_CLAIMED` when another's): a refresh calls it
   * before it deletes a deleted topic's objects or reconciles an interrupted archive, since the
   * check it began with may be up to `CLAIM_RECHECK_MS` old and another data dir may have taken
   * the prefix over since. At open the check was just made.
   */
  async sync(atOpen: boolean, report: ReconciliationReport, unclaimed: ColdStoreError | undefined, confirm: () => Promise<void>): Promise<ReconciliationReport> {
    const { catalog, events, dataDir } = this.context;
    const index = catalog.index;
    const local = await scanLogDir(dataDir);
    // First, so the new topic's segments under the same paths are found as new ones.
    const byTopicId = recordsByTopicId(local, index.values());
    const ofDeletedTopics = [...byTopicId.recreated, ...(await this.#ofRemovedTopics(local, byTopicId.absent, report))].filter((record) => !this.busy(record.path));
    let confirmed = atOpen;
    if (ofDeletedTopics.length > 0) {
      // Records that have nothing in the cold store are forgotten without asking it anything.
      if (ofDeletedTopics.some(mayHaveColdObjects)) {
        if (unclaimed) throw unclaimed;
        if (!confirmed) await confirm();
        confirmed = true;
      }
      try {
        await deleteSegmentsOfDeletedTopics(this.context, ofDeletedTopics, report);
      } finally {
        for (const record of ofDeletedTopics) if (index.get(record.path) === undefined) await this.forget(record.path);
      }
    }
    const changes = compareWithLocalDisk(local, index.values(), (path) => index.get(path));
    const localPaths = new Set(local.map((segment) => segment.path));
    const written = await catalog.apply([...changes.discovered, ...changes.changed], changes.vanished);
    const nowCold = await this.#nowCold(changes.nowCold);

    const unsettled = changes.unsettled.filter(
      (record) => !this.busy(record.path) && (atOpen || this.#waiting.has(record.path) || record.state !== 'archiving' || !localPaths.has(record.path)),
    );
    // At open a cold store that does not answer stops nothing: the console and the CLI must open to show it.
    const waiting = new Map<string, string>();
    let reconciled = report;
    // Of reconciliation's cases only an interrupted archive deletes in the cold store (its orphans):
    // the others, such as a known conflict found again by every refresh, cost no extra request.
    if (!unclaimed && !confirmed && unsettled.some((record) => record.state === 'archiving')) {
      try {
        await confirm();
      } catch (error) {
        if (!(error instanceof ColdStoreError)) throw error;
        unclaimed = error;
      }
    }
    if (unclaimed) {
      if (!atOpen && unsettled.length > 0) throw unclaimed;
      for (const record of unsettled) waiting.set(record.path, unclaimed.message);
    } else {
      const postpone = atOpen ? (record: SegmentRecord, failure: Error) => waiting.set(record.path, failure.message) : undefined;
      if (unsettled.length > 0 || atOpen) reconciled = await this.reconciliation.reconcile(unsettled, report, postpone);
      reconciled.orphansDeleted += await this.#endStaleUploads();
    }
    this.#waiting = waiting;
    reconciled.postponed = [...waiting].map(([path, failure]) => `${path}: ${failure}`);

    const discovered = written.slice(0, changes.discovered.length);
    const context = discovered.length > 0 ? this.engine.context(index.values(), (segment) => index.isLast(segment), this.cacheBytes()) : undefined;
    // Placed only if no operation changed the record since it was written: reconciliation above
    // gave them time to, and the placement, a copy of the record as written, would undo their
    // commit (an archive's, say: the record again not archived, its local files deleted).
    const asFound = (segment: SegmentRecord) => index.get(segment.path)?.version === segment.version && !this.busy(segment.path);
    await catalog.apply(
      discovered.flatMap((segment) => (asFound(segment) && this.engine.decide(segment, context!).tier !== 'hot' ? [{ ...segment, policy: 'warm' as const }] : [])),
      [],
    );
    for (const segment of discovered) events.emit('segment:discovered', index.get(segment.path) ?? segment);
    for (const [segment, before] of nowCold) events.emit('segment:tier-changed', segment, before, 'cold');
    return reconciled;
  }

  /**
   * Commits `cold` for archived local segments whose `.log` the scan did not find (the broker's
   * retention deleted it), each holding its segment and only if its `.log` is still gone and its
   * record unchanged since the scan: a restore that finished while the data dir was being read
   * put its files back after their folder was listed, and is local.
   */
  async #nowCold(found: readonly SegmentRecord[]): Promise<[SegmentRecord, Tier][]> {
    const { catalog, dataDir } = this.context;
    const done: [SegmentRecord, Tier][] = [];
    for (const record of found) {
      await this.exclusive(record.path, async () => {
        const current = catalog.get(record.path);
        if (current?.version !== record.version) return;
        if ((await lstatIfPresent(localPathOf(dataDir, current, 'log'))) !== undefined) return;
        done.push([await catalog.update(current.path, { policy: 'cold' }), current.policy]);
      });
    }
    return done;
  }

  /**
   * Of the records of partitions gone from the disk, those of topics the metadata log says are
   * deleted. A metadata log that cannot be read is a problem in the report, and nothing is judged.
   */
  async #ofRemovedTopics(local: readonly LocalSegment[], absent: readonly SegmentRecord[], report: ReconciliationReport): Promise<SegmentRecord[]> {
    if (absent.length === 0) return [];
    const { dataDir } = this.context;
    try {
      const stamp = await clusterMetadataStamp(dataDir);
      if (stamp === undefined) return [];
      if (this.#clusterTopics?.stamp !== stamp) {
        const topics = await readClusterTopics(dataDir);
        if (topics === undefined) return [];
        this.#clusterTopics = { stamp, topics };
      }
      const { removed, doubt } = recordsOfRemovedTopics(local, absent, this.#clusterTopics.topics);
      if (doubt !== undefined) addProblem(report, `the segments of partitions gone from the data dir are kept: ${doubt}`);
      return removed;
    } catch (error) {
      addProblem(report, `the segments of partitions gone from the data dir are kept: the metadata log cannot be read (${(error as Error).message})`);
      return [];
    }
  }

  /**
   * Ends the uploads crashed writers left open (reconciliation deletes the objects they
   * finished; these never became objects). Housekeeping: a store that cannot list them now is
   * asked again at the next sync.
   */
  async #endStaleUploads(): Promise<number> {
    return (await this.context.store.abortStaleUploads?.(STALE_UPLOAD_MS).catch(() => 0)) ?? 0;
  }
}
