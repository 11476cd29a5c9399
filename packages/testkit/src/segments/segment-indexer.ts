import { NO_TIMESTAMP, OFFSET_INDEX_ENTRY_SIZE, TIME_INDEX_ENTRY_SIZE } from '@takhin/core';

/** A batch as the indexer sees it: where it starts, its last offset, its max timestamp, its size. */
export interface AppendedBatch {
  position: number;
  lastOffset: bigint;
  maxTimestamp: bigint;
  sizeInBytes: number;
}

/**
 * Decides a segment's `.index` and `.timeindex` entries exactly as Kafka's `LogSegment` does,
 * with one batch per append (what a producer's request for one partition holds):
 * - before appending, if MORE than `indexIntervalBytes` were appended since the last entry,
 *   index the batch: (its last offset, its position) and, in the time index, (the largest
 *   timestamp so far, the last offset of the batch that had it), when that timestamp grew;
 * - so the first batch is never indexed, and nothing is indexed in a segment smaller than the interval;
 * - a segment that stops being active gets one more time index entry for its largest timestamp
 *   (`onBecomeInactiveSegment`); the active segment does not.
 */
export class SegmentIndexer {
  #bytesSinceLastEntry = 0;
  #maxTimestamp = NO_TIMESTAMP;
  #offsetOfMaxTimestamp: bigint;
  #lastTimeEntry = NO_TIMESTAMP;

  constructor(
    readonly baseOffset: bigint,
    readonly indexIntervalBytes: number,
  ) {
    this.#offsetOfMaxTimestamp = baseOffset;
  }

  /** The entries (`.index`, `.timeindex`) to write for a batch about to be appended. */
  append(batch: AppendedBatch): { offsetEntry?: Buffer; timeEntry?: Buffer } {
    if (batch.maxTimestamp > this.#maxTimestamp) {
      this.#maxTimestamp = batch.maxTimestamp;
      this.#offsetOfMaxTimestamp = batch.lastOffset;
    }
    const entries: { offsetEntry?: Buffer; timeEntry?: Buffer } = {};
    if (this.#bytesSinceLastEntry > this.indexIntervalBytes) {
      const offsetEntry = Buffer.allocUnsafe(OFFSET_INDEX_ENTRY_SIZE);
      offsetEntry.writeInt32BE(this.#relative(batch.lastOffset), 0);
      offsetEntry.writeInt32BE(batch.position, 4);
      entries.offsetEntry = offsetEntry;
      const timeEntry = this.#maybeTimeEntry();
      if (timeEntry !== undefined) entries.timeEntry = timeEntry;
      this.#bytesSinceLastEntry = 0;
    }
    this.#bytesSinceLastEntry += batch.sizeInBytes;
    return entries;
  }

  /** The time index entry Kafka adds when the segment rolls, if its largest timestamp is not indexed yet. */
  close(): Buffer | undefined {
    return this.#maybeTimeEntry();
  }

  /** Kafka's `TimeIndex.maybeAppend`: only a timestamp larger than the last entry's is indexed. */
  #maybeTimeEntry(): Buffer | undefined {
    if (this.#maxTimestamp <= this.#lastTimeEntry) return undefined;
    const entry = Buffer.allocUnsafe(TIME_INDEX_ENTRY_SIZE);
    entry.writeBigInt64BE(this.#maxTimestamp, 0);
    entry.writeInt32BE(this.#relative(this.#offsetOfMaxTimestamp), 8);
    this.#lastTimeEntry = this.#maxTimestamp;
    return entry;
  }

  #relative(offset: bigint): number {
    const relative = offset - this.baseOffset;
    if (relative < 0n || relative > 2_147_483_647n) throw new RangeError(`offset ${offset} does not fit a segment based at ${this.baseOffset}`);
    return Number(relative);
  }
}
