import { localBytesOf, remoteBytesOf, type SegmentRecord, type Tier } from './segment-record.js';

/** Counts and bytes by tier, kept up to date on every change, so reading them is O(1). */
export interface TieredStats {
  readonly totalSegments: number;
  readonly hotSegments: number;
  readonly warmSegments: number;
  readonly coldSegments: number;
  readonly archivedSegments: number;
  /** Sum of the segments' `.log` sizes, wherever they are. */
  readonly totalSizeBytes: number;
  /** Bytes of segment files on local disk. */
  readonly localBytes: number;
  /** Bytes of segment files in the cold store. */
  readonly remoteBytes: number;
  /** Bytes by tier: local files of hot and of warm segments, remote files of cold ones. */
  readonly hotBytes: number;
  readonly warmBytes: number;
  readonly coldBytes: number;
}

/** Which segments a listing returns, and a page of them. */
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

/** One partition's segments in base-offset order, for floor lookups by offset. */
class PartitionSegments {
  readonly offsets: number[] = [];
  readonly records: SegmentRecord[] = [];
  /** The highest base offset of a segment with local files, -1 for none, undefined until asked again. */
  #lastLocal: number | undefined = -1;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}

  /** The position of the last segment whose base offset is at most `offset`, or -1. */
  floor(offset: number): number {
    let low = 0;
    let high = this.offsets.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      if (this.offsets[middle]! <= offset) low = middle + 1;
      else high = middle - 1;
    }
    return high;
  }

  /**
   * The highest base offset among the segments with local files (hot or warm): Kafka's active
   * segment, which is always on local disk. Cold records above it are of a log the broker no
   * longer has (a topic deleted and created again, a log truncated by an unclean election).
   */
  lastLocal(): number {
    if (this.#lastLocal === undefined) {
      let at = this.records.length - 1;
      while (at >= 0 && this.records[at]!.policy === 'cold') at--;
      this.#lastLocal = at < 0 ? -1 : this.offsets[at]!;
    }
    return this.#lastLocal;
  }

  set(record: SegmentRecord): void {
    if (record.policy !== 'cold') {
      if (this.#lastLocal !== undefined && record.baseOffset > this.#lastLocal) this.#lastLocal = record.baseOffset;
    } else if (record.baseOffset === this.#lastLocal) {
      this.#lastLocal = undefined;
    }
    const last = this.offsets.length - 1;
    if (last < 0 || this.offsets[last]! < record.baseOffset) {
      // The common case (a new segment rolled, or records loaded in order): append.
      this.offsets.push(record.baseOffset);
      this.records.push(record);
      return;
    }
    const at = this.floor(record.baseOffset);
    if (at >= 0 && this.offsets[at] === record.baseOffset) {
      this.records[at] = record;
      return;
    }
    this.offsets.splice(at + 1, 0, record.baseOffset);
    this.records.splice(at + 1, 0, record);
  }

  delete(baseOffset: number): void {
    if (baseOffset === this.#lastLocal) this.#lastLocal = undefined;
    const at = this.floor(baseOffset);
    if (at >= 0 && this.offsets[at] === baseOffset) {
      this.offsets.splice(at, 1);
      this.records.splice(at, 1);
    }
  }
}

/**
 * The in-memory index in front of the metadata store: records by path (a `Map` lookup), by
 * partition in base-offset order (a binary search), and running counters per tier. Records are
 * frozen and replaced, never changed in place, so a caller holding one sees a stable snapshot.
 */
export class SegmentIndex {
  readonly #byPath = new Map<string, SegmentRecord>();
  /** By topic, then partition number: no key string is built per lookup. */
  readonly #topics = new Map<string, Map<number, PartitionSegments>>();
  /** Partitions by topic then number, rebuilt only after a partition comes or goes. */
  #ordered: PartitionSegments[] | undefined;
  #hot = 0;
  #warm = 0;
  #cold = 0;
  #archived = 0;
  #totalSize = 0;
  #localBytes = 0;
  #remoteBytes = 0;
  #restoredBytes = 0;
  #tierBytes = { hot: 0, warm: 0, cold: 0 };

  get size(): number {
    return this.#byPath.size;
  }

  get(path: string): SegmentRecord | undefined {
    return this.#byPath.get(path);
  }

  /** Adds or replaces the record at `record.path`. */
  set(record: SegmentRecord): SegmentRecord {
    const previous = this.#byPath.get(record.path);
    if (previous) this.#count(previous, -1);
    return this.#add(record);
  }

  /** Adds records known to be new (a page read from the metadata store at open): no lookup first. */
  load(records: readonly SegmentRecord[]): void {
    for (const record of records) this.#add(record);
  }

  #add(record: SegmentRecord): SegmentRecord {
    Object.freeze(record);
    this.#byPath.set(record.path, record);
    this.#count(record, 1);
    let partitions = this.#topics.get(record.topic);
    if (!partitions) this.#topics.set(record.topic, (partitions = new Map()));
    let partition = partitions.get(record.partition);
    if (!partition) {
      partitions.set(record.partition, (partition = new PartitionSegments(record.topic, record.partition)));
      this.#ordered = undefined;
    }
    partition.set(record);
    return record;
  }

  delete(path: string): void {
    const previous = this.#byPath.get(path);
    if (!previous) return;
    this.#count(previous, -1);
    this.#byPath.delete(path);
    const partitions = this.#topics.get(previous.topic);
    const partition = partitions?.get(previous.partition);
    partition?.delete(previous.baseOffset);
    if (partition?.offsets.length === 0) {
      partitions!.delete(previous.partition);
      if (partitions!.size === 0) this.#topics.delete(previous.topic);
      this.#ordered = undefined;
    }
  }

  /** The segment holding `offset` by base offset (floor), or undefined below the first one. */
  floor(topic: string, partition: number, offset: number): SegmentRecord | undefined {
    const segments = this.#topics.get(topic)?.get(partition);
    if (!segments) return undefined;
    const at = segments.floor(offset);
    return at < 0 ? undefined : segments.records[at];
  }

  /** The segment after `record` in its partition (the next base offset), or undefined for the last. */
  next(record: SegmentRecord): SegmentRecord | undefined {
    const segments = this.#topics.get(record.topic)?.get(record.partition);
    if (!segments) return undefined;
    return segments.records[segments.floor(record.baseOffset) + 1];
  }

  /** Bytes on local disk of segments that also have a remote copy (restored ones): what eviction can free. */
  get restoredBytes(): number {
    return this.#restoredBytes;
  }

  /** The partition's segments in base-offset order (a copy), or undefined for an unknown one. */
  partition(topic: string, partition: number): readonly SegmentRecord[] | undefined {
    return this.#topics.get(topic)?.get(partition)?.records.slice();
  }

  /**
   * Whether `record` is Kafka's active segment: its partition's highest base offset among the
   * segments on local disk. A cold record above it (of a deleted and recreated topic) does not
   * hide it.
   */
  isLast(record: SegmentRecord): boolean {
    if (record.policy === 'cold') return false;
    return this.#topics.get(record.topic)?.get(record.partition)?.lastLocal() === record.baseOffset;
  }

  /**
   * Every record in a stable order (topic, partition, base offset), starting after the record at
   * `after` when given: what paginated listings walk.
   */
  *inOrder(after?: Pick<SegmentRecord, 'topic' | 'partition' | 'baseOffset'>): Generator<SegmentRecord> {
    this.#ordered ??= [...this.#topics.values()].flatMap((partitions) => [...partitions.values()]).sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
    const ordered = this.#ordered;
    let first = 0;
    let start = 0;
    if (after !== undefined) {
      first = ordered.findIndex((p) => p.topic > after.topic || (p.topic === after.topic && p.partition >= after.partition));
      if (first < 0) return;
      const partition = ordered[first]!;
      if (partition.topic === after.topic && partition.partition === after.partition) start = partition.floor(after.baseOffset) + 1;
    }
    for (let i = first; i < ordered.length; i++) {
      const records = ordered[i]!.records;
      for (let j = i === first ? start : 0; j < records.length; j++) yield records[j]!;
    }
  }

  /** Records matching `filter`, in (topic, partition, base offset) order, after the position `after`. */
  list(filter: SegmentFilter, after?: Pick<SegmentRecord, 'topic' | 'partition' | 'baseOffset'>): SegmentRecord[] {
    const limit = filter.limit ?? Number.POSITIVE_INFINITY;
    const result: SegmentRecord[] = [];
    if (limit <= 0) return result;
    const source =
      filter.topic !== undefined && filter.partition !== undefined
        ? (this.partition(filter.topic, filter.partition) ?? []).filter((s) => after === undefined || s.baseOffset > after.baseOffset)
        : this.inOrder(after);
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

  values(): IterableIterator<SegmentRecord> {
    return this.#byPath.values();
  }

  stats(): TieredStats {
    return {
      totalSegments: this.#byPath.size,
      hotSegments: this.#hot,
      warmSegments: this.#warm,
      coldSegments: this.#cold,
      archivedSegments: this.#archived,
      totalSizeBytes: this.#totalSize,
      localBytes: this.#localBytes,
      remoteBytes: this.#remoteBytes,
      hotBytes: this.#tierBytes.hot,
      warmBytes: this.#tierBytes.warm,
      coldBytes: this.#tierBytes.cold,
    };
  }

  #count(record: SegmentRecord, sign: 1 | -1): void {
    if (record.policy === 'hot') this.#hot += sign;
    else if (record.policy === 'warm') this.#warm += sign;
    else this.#cold += sign;
    if (record.isArchived) this.#archived += sign;
    this.#totalSize += sign * record.size;
    this.#localBytes += sign * localBytesOf(record);
    this.#remoteBytes += sign * remoteBytesOf(record);
    if (record.isArchived) this.#restoredBytes += sign * localBytesOf(record);
    this.#tierBytes[record.policy] += sign * (record.policy === 'cold' ? remoteBytesOf(record) : localBytesOf(record));
  }
}
