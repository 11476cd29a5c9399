import { corrupt } from './kafka-format-error.js';
import { countIndexEntries, floorSlot } from './sparse-index.js';

/** An offset and the byte position in the `.log` of the batch whose last offset it is. */
export interface OffsetPosition {
  offset: bigint;
  position: number;
}

/** Bytes per `.index` entry: relative offset (int32) then position (int32), big-endian. */
export const OFFSET_INDEX_ENTRY_SIZE = 8;

/**
 * A segment's `.index`: sparse entries, about one every `index.interval.bytes` of log, each
 * naming the LAST offset of the batch that starts at its position. So the floor entry for an
 * offset may point at the batch before the one holding it: walk batch headers from there
 * (`findBatch`, `readBatches`). Zero-filled preallocated space after the entries is ignored.
 */
export class OffsetIndex {
  readonly #entries: Buffer;

  private constructor(
    readonly baseOffset: bigint,
    entries: Buffer,
  ) {
    this.#entries = entries;
  }

  /** Parses a whole `.index` file; `baseOffset` comes from its name. `source` names it in errors. */
  static parse(bytes: Buffer, baseOffset: bigint, source?: string): OffsetIndex {
    const what = 'offset index';
    if (baseOffset < 0n) throw new RangeError(`baseOffset must not be negative, got ${baseOffset}`);
    const count = countIndexEntries(bytes, OFFSET_INDEX_ENTRY_SIZE, 0, what, source);
    // A copy: a preallocated 10 MiB file must not stay in memory for a few real entries.
    const entries = Buffer.from(bytes.subarray(0, count * OFFSET_INDEX_ENTRY_SIZE));
    for (let i = 0; i < count; i++) {
      const relative = entries.readInt32BE(i * OFFSET_INDEX_ENTRY_SIZE);
      const position = entries.readInt32BE(i * OFFSET_INDEX_ENTRY_SIZE + 4);
      if (relative < 0 || position < 0) throw corrupt(what, `entry ${i} has relative offset ${relative} and position ${position}`, source);
      if (i > 0) {
        const previous = entries.readInt32BE((i - 1) * OFFSET_INDEX_ENTRY_SIZE);
        const previousPosition = entries.readInt32BE((i - 1) * OFFSET_INDEX_ENTRY_SIZE + 4);
        if (relative <= previous || position <= previousPosition) {
          throw corrupt(what, `entry ${i} (relative offset ${relative}, position ${position}) does not follow entry ${i - 1} (${previous}, ${previousPosition})`, source);
        }
      }
    }
    return new OffsetIndex(baseOffset, entries);
  }

  /** The number of real entries. */
  get entries(): number {
    return this.#entries.length / OFFSET_INDEX_ENTRY_SIZE;
  }

  entry(slot: number): OffsetPosition {
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.entries) throw new RangeError(`no entry ${slot} in an index of ${this.entries}`);
    return {
      offset: this.baseOffset + BigInt(this.#entries.readInt32BE(slot * OFFSET_INDEX_ENTRY_SIZE)),
      position: this.#entries.readInt32BE(slot * OFFSET_INDEX_ENTRY_SIZE + 4),
    };
  }

  /**
   * The entry with the largest offset at or below `targetOffset`, or `{ baseOffset, 0 }` when
   * there is none (Kafka's `OffsetIndex.lookup`). Its position is where a batch walk starts.
   */
  lookup(targetOffset: bigint): OffsetPosition {
    const slot = floorSlot(this.entries, (i) => this.entry(i).offset, targetOffset);
    return slot < 0 ? { offset: this.baseOffset, position: 0 } : this.entry(slot);
  }
}
