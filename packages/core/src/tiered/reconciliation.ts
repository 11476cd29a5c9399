import { unlink } from 'node:fs/promises';
import { isColdStoreError, type ColdStoreError } from '../errors/cold-store-error.js';
import { TieringError } from '../errors/tiering-error.js';
import type { SegmentRecord } from '../metadata/segment-record.js';
import { archivedFields, recordFiles } from './archived-record.js';
import { deleteSegmentObjects, readUsableManifest } from './manifest-io.js';
import type { ProtocolContext } from './protocol-context.js';
import { remoteDamage } from './remote-verification.js';
import { runningBroker } from './running-broker.js';
import { manifestKeyOf, type SegmentManifest } from './segment-manifest.js';
import type { HoldSegment } from './segment-locks.js';
import { deleteLocalFiles, describeLocalDifference, IrregularSegmentFileError, localFilesOf, partitionDirOf, strayTempFiles } from './segment-files.js';

/** What reconciliation found and did: every repair counted, every doubt written down. */
export interface ReconciliationReport {
  /** Interrupted archives whose manifest was in the cold store: committed and finished. */
  archivesFinished: number;
  /** Interrupted archives without a manifest: their uploads deleted, the segment local again. */
  archivesRolledBack: number;
  /** Interrupted restores whose files were all in place: committed. */
  restoresFinished: number;
  /** Interrupted restores rolled back: partial files deleted, the segment cold again. */
  restoresRolledBack: number;
  /** Local copies of cold segments (an archive or evict that stopped before its deletes) deleted after verification. */
  localCopiesDeleted: number;
  /**
   * Objects under a segment's keys without a manifest (uploads of a crashed archive) deleted, and
   * uploads a crashed writer left open (`STALE_UPLOAD_MS` old) ended.
   */
  orphansDeleted: number;
  /** Temp files of interrupted restores deleted. */
  tempFilesDeleted: number;
  /** Records of segments gone from local disk with no verified remote copy (the broker deleted them). */
  recordsDropped: number;
  /**
   * Segments of a deleted topic: one created again under the same name (their topic id is not
   * their partition's any more), or one the metadata log removed (their partition folder gone):
   * records and cold copies deleted, as Kafka deletes a deleted topic's remote data.
   */
  deletedTopicSegments: number;
  /** Conflicts left for an operator, with the reason; nothing was deleted for them. Each once, however many refreshes find it. */
  problems: string[];
  /**
   * Segments reconciliation could not decide when the data dir was opened, because a request
   * failed (the cold store did not answer, mostly): `<segment path>: <the failure>`. They are
   * left exactly as they are, and reconciled by the first refresh that gets through, which then
   * empties this list.
   */
  postponed: string[];
}

/**
 * Adds a conflict to the report unless it is already there. The report adds up every refresh
 * since open, and a conflict nothing resolves (a segment Kafka's log cleaner rewrote under an
 * archived one's name) is found again by each: it is one conflict, and the console's count of
 * problems must not climb by one a cycle.
 */
export function addProblem(report: ReconciliationReport, problem: string): void {
  if (!report.problems.includes(problem)) report.problems.push(problem);
}

export function emptyReport(): ReconciliationReport {
  return { archivesFinished: 0, archivesRolledBack: 0, restoresFinished: 0, restoresRolledBack: 0, localCopiesDeleted: 0, orphansDeleted: 0, tempFilesDeleted: 0, recordsDropped: 0, deletedTopicSegments: 0, problems: [], postponed: [] };
}

/** How long a remembered conflict goes without a look at the cold store: its copy could be lost meanwhile. */
export const CONFLICT_RECHECK_MS = 60 * 60_000;

/**
 * Crash reconciliation: local files, records and remote manifests are compared for every
 * segment whose record is in an operation state or disagrees with the disk, and each is
 * finished or rolled back. A `switch` over the durable states, as Kafka's remote log manager
 * does: nothing found half-done is trusted, and no local file is deleted unless its remote
 * copy is verified and its checksums are the manifest's.
 */
export class Reconciliation {
  /**
   * Cold segments whose local files were found to differ from their archive, by a stamp of the
   * record and the files: a conflict nothing resolves (a segment Kafka's log cleaner rewrote) is
   * found again by every refresh, and is hashed again only once something in the stamp changed,
   * or an hour later (`CONFLICT_RECHECK_MS`), when the cold store's copy is checked again too.
   */
  readonly #knownConflicts = new Map<string, { stamp: string; at: number }>();

  constructor(
    private readonly context: ProtocolContext,
    /**
     * Runs `work` holding the segment, as an operation does (`segment-locks.ts`): an archive,
     * restore or evict asked meanwhile waits, so none runs between what reconciliation read and
     * what it deletes (an archive resumed while its orphans are deleted would commit a manifest
     * whose objects are gone, then delete the local files).
     */
    private readonly exclusive: HoldSegment,
  ) {}

  /**
   * Reconciles `records` in turn, each holding its segment. A record an operation changed since
   * it was handed here is left for the next sync, which sees it as that operation left it. With
   * `postpone`, a failed request (a cold store that does not answer) fails nothing: the record it
   * failed on and every one after it (a dead store would make each wait out its retries) are
   * handed to `postpone` with the failure, and left as they are.
   */
  async reconcile(
    records: readonly SegmentRecord[],
    report: ReconciliationReport = emptyReport(),
    postpone?: (record: SegmentRecord, failure: ColdStoreError) => void,
  ): Promise<ReconciliationReport> {
    let storeFailure: ColdStoreError | undefined;
    for (const record of records) {
      if (storeFailure !== undefined) {
        const current = this.context.catalog.get(record.path);
        if (current !== undefined) postpone!(current, storeFailure);
        continue;
      }
      let current: SegmentRecord | undefined;
      try {
        await this.exclusive(record.path, async () => {
          current = this.context.catalog.get(record.path);
          if (current === undefined || current.version !== record.version) return;
          await this.#reconcileOne(current, report);
        });
      } catch (error) {
        if (postpone && isColdStoreError(error)) {
          storeFailure = error;
          postpone(current ?? record, error);
          continue;
        }
        // What stops this one segment (a file that is not a regular one, a local file that cannot
        // be deleted) leaves it as it is, for an operator; the others are still reconciled.
        // A store or metadata store that does not answer stops them all.
        if (!(error instanceof IrregularSegmentFileError || (error instanceof TieringError && error.code === 'LOCAL_FAILURE'))) throw error;
        addProblem(report, error.message);
      }
    }
    return report;
  }

  async #reconcileOne(record: SegmentRecord, report: ReconciliationReport): Promise<void> {
    switch (record.state) {
      case 'archiving':
        return this.#archiving(record, report);
      case 'restoring':
        return this.#restoring(record, report);
      case 'idle':
        if (record.policy === 'cold') await this.#coldWithLocalFiles(record, report);
    }
  }

  /** An archive stopped somewhere between its intent and its commit. */
  async #archiving(record: SegmentRecord, report: ReconciliationReport): Promise<void> {
    const { catalog, dataDir, store } = this.context;
    const { manifest, unusable } = await readUsableManifest(store, record.path);
    const local = await localFilesOf(dataDir, record);
    const hasLog = local.some((file) => file.extension === 'log');
    if (unusable !== undefined) {
      // Not ours to delete (it may be a newer release's); nothing is decided on it.
      addProblem(report, `${record.path}: an archive was interrupted, and ${unusable}; ${hasLog ? 'the local segment is kept and not archived' : 'its local copy is gone, so it is left as it is'}`);
      if (hasLog) await catalog.update(record.path, { state: 'idle' });
      return;
    }
    if (manifest) {
      // The bucket committed: finish, once the remote copy and (when still here) the local files check out.
      const difference = hasLog ? await describeLocalDifference(this.context.pool, manifest, local) : undefined;
      if (difference !== undefined) {
        addProblem(report, `${record.path}: an archive of different content is in the cold store (${difference}); the local segment is kept and not archived`);
        await catalog.update(record.path, { state: 'idle' });
        return;
      }
      const damage = await remoteDamage(store, record.path, manifest.files);
      if (damage !== undefined && hasLog) {
        // An object went missing or was damaged after the commit in the bucket, and the local copy
        // is whole: the archive is rolled back, and the next cycle archives the segment again.
        report.orphansDeleted += await deleteSegmentObjects(store, record.path);
        await catalog.update(record.path, { state: 'idle' });
        report.archivesRolledBack++;
        return;
      }
      // Its local copy gone too (the broker's retention): what the cold store holds is all there is.
      if (damage !== undefined) addProblem(report, `${record.path}: its archive is committed in the cold store, but ${damage}; its local copy is gone, so it is recorded archived as it is`);
      // Beside a running broker the local files stay (docs/ARCHITECTURE.md, "Beside a running Apache Kafka broker").
      const keep = hasLog && (await runningBroker(dataDir)) !== undefined;
      await catalog.update(record.path, keep ? { ...archivedFields(manifest), policy: record.policy } : archivedFields(manifest));
      if (hasLog && !keep) await deleteLocalFiles(dataDir, record, manifest);
      report.archivesFinished++;
      return;
    }
    // No manifest: whatever was uploaded is an orphan.
    report.orphansDeleted += await deleteSegmentObjects(store, record.path);
    if (hasLog) {
      await catalog.update(record.path, { state: 'idle' });
      report.archivesRolledBack++;
    } else {
      await catalog.apply([], [record.path]);
      report.recordsDropped++;
    }
  }

  /** A restore stopped before its commit: its temp files go; renamed files are kept only if complete. */
  async #restoring(record: SegmentRecord, report: ReconciliationReport): Promise<void> {
    const { catalog, dataDir, store } = this.context;
    const temps = await strayTempFiles(partitionDirOf(dataDir, record), record.baseOffset);
    await Promise.all(temps.map((path) => unlink(path).catch(() => {})));
    report.tempFilesDeleted += temps.length;
    const { manifest, unusable } = await readUsableManifest(store, record.path);
    const local = await localFilesOf(dataDir, record);
    if (manifest && local.length > 0 && (await describeLocalDifference(this.context.pool, manifest, local)) === undefined) {
      await catalog.update(record.path, { policy: 'hot', lastAccessAt: this.context.clock.now(), files: recordFiles(manifest), state: 'idle' });
      report.restoresFinished++;
      return;
    }
    if (manifest) await deleteLocalFiles(dataDir, record, manifest);
    else if (local.length > 0) addProblem(report, `${record.path}: a restore was interrupted and ${unusable ?? 'its manifest is gone from the cold store'}; partial local files are kept`);
    await catalog.update(record.path, { state: 'idle' });
    report.restoresRolledBack++;
  }

  /** A cold segment with files on local disk: an archive or evict stopped before its deletes. */
  async #coldWithLocalFiles(record: SegmentRecord, report: ReconciliationReport): Promise<void> {
    const { catalog, dataDir, store } = this.context;
    const local = await localFilesOf(dataDir, record);
    if (local.length === 0) return;
    const stamp = [record.archivedAt, record.objectKey, ...local.map((file) => `${file.extension}:${file.size}:${file.mtimeMs}:${file.ino}`)].join('|');
    const known = this.#knownConflicts.get(record.path);
    if (known?.stamp === stamp && this.context.clock.now() - known.at < CONFLICT_RECHECK_MS) return;
    this.#knownConflicts.delete(record.path);
    // Only a copy found missing or damaged counts against it; a store that does not answer fails the refresh.
    const { manifest, unusable } = await readUsableManifest(store, record.path);
    const remoteProblem = manifest ? await remoteDamage(store, record.path, manifest.files) : (unusable ?? `its manifest ${manifestKeyOf(record.path)} is missing`);
    if (remoteProblem !== undefined) {
      // The local files are the only whole copy: keep them and stop calling the segment archived.
      addProblem(report, `${record.path}: recorded as archived, but ${remoteProblem}; kept the local files and marked it local and not archived`);
      await catalog.update(record.path, { policy: 'hot', isArchived: false, objectKey: undefined, archivedAt: undefined, state: 'idle' });
      return;
    }
    const difference = await describeLocalDifference(this.context.pool, manifest!, local, { partial: true });
    if (difference !== undefined) {
      addProblem(report, `${record.path}: local files differ from its archive (${difference}); both are kept`);
      this.#knownConflicts.set(record.path, { stamp, at: this.context.clock.now() });
      return;
    }
    if ((await runningBroker(dataDir)) !== undefined) {
      // The broker may hold these files: keep them, and the segment is local (and archived) again.
      await catalog.update(record.path, { policy: 'warm' });
      return;
    }
    await deleteLocalFiles(dataDir, record, manifest!);
    report.localCopiesDeleted++;
  }
}
