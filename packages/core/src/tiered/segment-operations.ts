import { ofSegment } from '../errors/tiering-error.js';
import type { SegmentRecord } from '../metadata/segment-record.js';
import type { PlanItem } from '../policy/tier-plan.js';
import type { RemoteReads } from '../reads/remote-reads.js';
import { ArchiveProtocol, type ArchiveResult } from './archive-protocol.js';
import { MANIFEST_RECHECK_MS, type ColdStoreClaim } from './cold-store-claim.js';
import type { ProtocolContext } from './protocol-context.js';
import { RestoreProtocol, type EvictResult, type RestoreResult } from './restore-protocol.js';
import type { SegmentLocks } from './segment-locks.js';
import type { OperationOptions } from './tiered-storage-options.js';

type Operation = 'archive' | 'restore' | 'evict';

/**
 * The archive, restore and evict of one segment, as `TieredStorage` runs them for its callers
 * and the archiver's plan steps (docs/ARCHITECTURE.md, "Tiering model, protocols and remote
 * reads"): each under the segment's lock (callers of the same kind share it, under a signal
 * aborted once all of them have aborted), a failure named by the segment, and afterwards what
 * remote reads cached of the segment dropped: it moved.
 */
export class SegmentOperations {
  readonly #archive: ArchiveProtocol;
  readonly #restore: RestoreProtocol;

  constructor(
    private readonly context: ProtocolContext,
    private readonly locks: SegmentLocks,
    /** Whether the cold store's prefix is this data dir's: asked before every archive and evict. */
    private readonly claim: ColdStoreClaim,
    private readonly reads: RemoteReads,
    /** The segment's record; an unknown path throws. */
    private readonly segment: (path: string) => SegmentRecord,
  ) {
    this.#archive = new ArchiveProtocol(context);
    this.#restore = new RestoreProtocol(context);
  }

  archive(path: string, options: OperationOptions): Promise<ArchiveResult> {
    return this.#operate('archive', path, (segment, signal) => this.#archiveOne(segment, { ...options, signal }), options.signal);
  }

  /** Why the segment cannot be archived (see `ArchiveProtocol.refusal`), or undefined. */
  archiveRefusal(segment: SegmentRecord): string | undefined {
    return this.#archive.refusal(segment);
  }

  restore(path: string, options: OperationOptions): Promise<RestoreResult> {
    return this.#operate('restore', path, (segment, signal) => this.#restore.restore(segment, { ...options, signal }), options.signal);
  }

  evict(path: string, options: OperationOptions): Promise<EvictResult> {
    return this.#operate('evict', path, (segment, signal) => this.#evictOne(segment, signal), options.signal);
  }

  /**
   * Applies one step of a cycle's plan; whether it changed anything. A failure is not reported
   * as `operation:failed` here: the archiver reports its own, with when it retries.
   */
  async apply(step: PlanItem, signal: AbortSignal): Promise<boolean> {
    switch (step.action) {
      case 'retier': {
        const after = await this.locks.run(step.path, 'retier', () => this.context.catalog.retier(step.path, step.from, step.to));
        if (after) this.context.events.emit('segment:tier-changed', after, step.from, step.to);
        return after !== undefined;
      }
      case 'archive':
        await this.#operate('archive', step.path, (segment, shared) => this.#archiveOne(segment, { signal: shared }), signal, false);
        return true;
      case 'evict':
        await this.#operate('evict', step.path, (segment, shared) => this.#evictOne(segment, shared), signal, false);
        return true;
      case 'none':
        return false;
    }
  }

  /** Runs `run` on the segment under its lock; a failure is reported once as `operation:failed` when `report`. */
  #operate<T>(operation: Operation, path: string, run: (segment: SegmentRecord, signal: AbortSignal) => Promise<T>, signal: AbortSignal | undefined, report = true): Promise<T> {
    const segment = this.segment(path);
    const attempt = (shared: AbortSignal) =>
      run(this.segment(path), shared).catch((failure: Error) => {
        const error = ofSegment(failure, `cannot ${operation} ${segment.path}`, segment.path);
        if (report) this.context.events.emit('operation:failed', { operation, path: segment.path, error });
        throw error;
      });
    return this.locks.run(segment.path, operation, attempt, signal).finally(() => this.reads.forget(segment.path));
  }

  /**
   * An archive writes to the cold store: only while its prefix is this data dir's, asked again
   * each time (one small read beside an archive's uploads), and once more before its manifest
   * when its uploads took longer than `MANIFEST_RECHECK_MS`, so a data dir that took the prefix
   * over meanwhile gets no commit in its bucket from this one, nor does this one delete its local
   * files on the strength of it.
   */
  async #archiveOne(segment: SegmentRecord, options: OperationOptions & { signal: AbortSignal }): Promise<ArchiveResult> {
    // A take-over open was told of and could not make yet (the store was down) is made here too.
    await this.claim.check({ signal: options.signal });
    return this.#archive.archive(segment, { ...options, beforeManifest: () => this.claim.ensure(MANIFEST_RECHECK_MS, { signal: options.signal }) });
  }

  /**
   * An evict leaves the cold copy as the segment's only one: only while the prefix is this data
   * dir's, asked again each time, as an archive does, since a data dir that took the prefix over
   * may delete that copy as its own (a topic it deleted, an orphan of its own archive).
   */
  async #evictOne(segment: SegmentRecord, signal: AbortSignal): Promise<EvictResult> {
    // Already cold deletes nothing, so needs no check (and a store that is down does not fail it).
    if (segment.policy !== 'cold') await this.claim.check({ signal });
    return this.#restore.evict(segment, signal);
  }
}
