import { EventEmitter } from 'eventemitter3';
import { inject, injectable } from 'tsyringe';
import type { TakhinConfig } from '../config/takhin-config.js';
import { TAKHIN_CONFIG, METADATA_STORE } from '../di/tokens.js';
import { ConfigError } from '../errors/config-error.js';
import { TieringError } from '../errors/tiering-error.js';
import type { MetadataStore } from '../metadata/metadata-store.js';
import type { TieredStats } from '../metadata/segment-index.js';
import type { SegmentRecord, Tier } from '../metadata/segment-record.js';
import { PolicyEngine } from '../policy/policy-engine.js';
import { planStep, type PlanItem } from '../policy/tier-plan.js';
import { scanLogDir } from '../segments/log-dir-scanner.js';
import { parseSegmentPath } from '../segments/segment-path.js';
import { compareWithLocalDisk } from './local-disk-sync.js';
import { SegmentCatalog } from './segment-catalog.js';
import type { TieredStorageEvents } from './tiered-events.js';

/** Which segments `listSegments` returns, and a page of them. */
export interface SegmentFilter {
  readonly topic?: string;
  readonly partition?: number;
  readonly policy?: Tier;
  readonly archived?: boolean;
  /** Start after this segment path (a cursor from a previous page). */
  readonly after?: string;
  /** At most this many. */
  readonly limit?: number;
}

export interface PlanOptions {
  /** Only the segments a cycle would change (action other than `none`). */
  readonly changesOnly?: boolean;
}

/**
 * The tiering model of one data dir: every segment, its tier and archive state, kept in the
 * metadata store with an in-memory index in front (lookups in nanoseconds, stats in O(1)), and
 * the policy engine's view of where each segment belongs. Get it from `openTieredStorage`.
 */
@injectable()
export class TieredStorage extends EventEmitter<TieredStorageEvents> {
  readonly dataDir: string;
  readonly #catalog: SegmentCatalog;
  #opened: Promise<void> | undefined;
  #closed: Promise<void> | undefined;

  constructor(
    @inject(TAKHIN_CONFIG) readonly config: TakhinConfig,
    @inject(METADATA_STORE) store: MetadataStore,
    @inject(PolicyEngine) readonly engine: PolicyEngine,
  ) {
    super();
    const dataDir = config.storage.data.dir;
    if (dataDir === undefined) throw new ConfigError('storage.data.dir', 'is required to open tiered storage: the broker log dir whose segments are tiered');
    this.dataDir = dataDir;
    this.#catalog = new SegmentCatalog(store);
  }

  /** Loads the metadata and brings it in line with the data dir. Called by `openTieredStorage`. */
  open(): Promise<void> {
    this.#opened ??= (async () => {
      await this.#catalog.load();
      await this.refresh();
    })();
    return this.#opened;
  }

  /**
   * Re-reads the data dir: new segments are recorded (and classified hot or warm by the
   * policy), grown ones updated, ones the broker deleted forgotten.
   */
  async refresh(): Promise<void> {
    this.#checkOpen();
    const index = this.#catalog.index;
    const local = await scanLogDir(this.dataDir);
    const changes = compareWithLocalDisk(local, index.values(), (path) => index.get(path));
    const tierBefore = new Map(changes.nowCold.map((draft) => [draft.path, index.get(draft.path)!.policy]));
    const written = await this.#catalog.apply([...changes.discovered, ...changes.changed, ...changes.nowCold], changes.vanished);
    const discovered = written.slice(0, changes.discovered.length);
    // A segment first seen is placed by the policy at once, among the local tiers.
    const context = this.engine.context(index.values(), (segment) => index.isLast(segment));
    const placed = await this.#catalog.apply(
      discovered.flatMap((segment) => {
        const tier = this.engine.decide(segment, context).tier;
        return tier === 'hot' ? [] : [{ ...segment, policy: 'warm' as const }];
      }),
      [],
    );
    const final = new Map(placed.map((segment) => [segment.path, segment]));
    for (const segment of discovered) this.emit('segment:discovered', final.get(segment.path) ?? segment);
    for (const segment of written.slice(discovered.length + changes.changed.length)) this.emit('segment:tier-changed', segment, tierBefore.get(segment.path)!, 'cold');
  }

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
    if (typeof topic !== 'string' || !Number.isSafeInteger(partition) || partition < 0) {
      throw new TieringError('UNKNOWN_PARTITION', `not a topic-partition: ${JSON.stringify(topic)}, ${String(partition)}`);
    }
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new TieringError('OFFSET_OUT_OF_RANGE', `not an offset: ${String(offset)} (expected a whole number ≥ 0)`);
    }
    const record = this.#catalog.index.floor(topic, partition, offset);
    if (record !== undefined) return record;
    const segments = this.#catalog.index.partition(topic, partition);
    if (!segments) throw new TieringError('UNKNOWN_PARTITION', `no segments of ${topic}-${partition} in ${this.dataDir} or its metadata`);
    throw new TieringError('OFFSET_OUT_OF_RANGE', `offset ${offset} is before the first segment of ${topic}-${partition} (base offset ${segments[0]!.baseOffset})`);
  }

  /** Segments matching `filter`, ordered by topic, partition and base offset. */
  listSegments(filter: SegmentFilter = {}): SegmentRecord[] {
    const index = this.#catalog.index;
    const after = filter.after === undefined ? undefined : this.getSegment(filter.after);
    const limit = filter.limit ?? Number.POSITIVE_INFINITY;
    const result: SegmentRecord[] = [];
    if (limit <= 0) return result;
    const source =
      filter.topic !== undefined && filter.partition !== undefined
        ? (index.partition(filter.topic, filter.partition) ?? []).filter((s) => after === undefined || s.baseOffset > after.baseOffset)
        : index.inOrder(after);
    for (const segment of source) {
      if (filter.topic !== undefined && segment.topic !== filter.topic) continue;
      if (filter.partition !== undefined && segment.partition !== filter.partition) continue;
      if (filter.policy !== undefined && segment.policy !== filter.policy) continue;
      if (filter.archived !== undefined && segment.isArchived !== filter.archived) continue;
      result.push(segment);
      if (result.length >= limit) break;
    }
    return result;
  }

  /** Counts and bytes by tier; O(1). */
  getStats(): TieredStats {
    return this.#catalog.index.stats();
  }

  /** What a cycle would do to each segment, with the deciding rule and its reason. Changes nothing. */
  plan(options: PlanOptions = {}): PlanItem[] {
    this.#checkOpen();
    const index = this.#catalog.index;
    const context = this.engine.context(index.values(), (segment) => index.isLast(segment));
    const items: PlanItem[] = [];
    for (const segment of index.inOrder()) {
      const item = planStep(segment, this.engine.decide(segment, context));
      if (!options.changesOnly || item.action !== 'none') items.push(item);
    }
    return items;
  }

  /** Stops background work, waits for operations in flight and releases the metadata store. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      await this.#opened?.catch(() => {});
      await this.#catalog.store.close();
      this.removeAllListeners();
    })();
    return this.#closed;
  }

  /** The catalog the protocols share; not part of the public API. */
  get catalog(): SegmentCatalog {
    return this.#catalog;
  }

  #checkOpen(): void {
    if (this.#closed) throw new TieringError('CLOSED', 'tiered storage is closed');
  }

  #notFound(path: string): TieringError {
    const id = parseSegmentPath(path);
    return new TieringError('UNKNOWN_SEGMENT', `no segment ${id.path} in ${this.dataDir} or its metadata`, id.path);
  }
}
