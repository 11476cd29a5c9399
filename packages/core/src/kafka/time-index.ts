import { corrupt } from './kafka-format-error.js';
import { countIndexEntries, floorSlot } from './sparse-index.js';

/** A timestamp (ms) and the offset Kafka indexed it with. */
export interface TimestampOffset {
  timestamp: bigint;
  offset: bigint;
}

/** Bytes per `.timeindex` entry: timestamp (int64) then relative offset (int32), big-endian. */
export const TIME_INDEX_ENTRY_SIZE = 12;

/** Kafka's `RecordBatch.NO_TIMESTAMP`. */
export const NO_TIMESTAMP = -1n;

/**
 * A segment's `.timeindex`: sparse entries of the largest timestamp seen so far and the last
 * offset of the batch that holds it, timestamps increasing. A closed segment's last entry is
 * its largest timestamp. Zero-filled preallocated space after the entries is ignored.
 */
export class TimeIndex {
  readonly #entries: Buffer;

  private constructor(
    readonly baseOffset: bigint,
    entries: Buffer,
  ) {
    this.#entries = entries;
  }

  /** Parses a whole `.timeindex` file; `baseOffset` comes from its name. `source` names it in errors. */
  static parse(bytes: Buffer, baseOffset: bigint, source?: string): TimeIndex {
    const what = 'time index';
    if (baseOffset < 0n) throw new RangeError(`baseOffset must not be negative, got ${baseOffset}`);
    const count = countIndexEntries(bytes, TIME_INDEX_ENTRY_SIZE, 8, what, source);
    const entries = Buffer.from(bytes.subarray(0, count * TIME_INDEX_ENTRY_SIZE));
    const index = new TimeIndex(baseOffset, entries);
    for (let i = 0; i < count; i++) {
      const relative = entries.readInt32BE(i * TIME_INDEX_ENTRY_SIZE + 8);
      if (relative < 0) throw corrupt(what, `entry ${i} has relative offset ${relative}`, source);
      if (i > 0) {
        const previous = index.entry(i - 1);
        const current = index.entry(i);
        if (current.timestamp < previous.timestamp || current.offset < previous.offset) {
          throw corrupt(
            what,
            `entry ${i} (timestamp ${current.timestamp}, offset ${current.offset}) goes back from entry ${i - 1} (${previous.timestamp}, ${previous.offset})`,
            source,
          );
        }
      }
    }
    return index;
  }

  /** The number of real entries. */
  get entries(): number {
    return this.#entries.length / TIME_INDEX_ENTRY_SIZE;
  }

  entry(slot: number): TimestampOffset {
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.entries) throw new RangeError(`no entry ${slot} in an index of ${this.entries}`);
    return {
      timestamp: this.#entries.readBigInt64BE(slot * TIME_INDEX_ENTRY_SIZE),
      offset: this.baseOffset + BigInt(this.#entries.readInt32BE(slot * TIME_INDEX_ENTRY_SIZE + 8)),
    };
  }

  /** The last entry, or `{ NO_TIMESTAMP, baseOffset }` for an empty index (Kafka's `TimeIndex.lastEntry`). */
  lastEntry(): TimestampOffset {
    return this.entries === 0 ? { timestamp: NO_TIMESTAMP, offset: this.baseOffset } : this.entry(this.entries - 1);
  }

  /**
   * The entry with the largest timestamp at or below `timestamp`, or `{ NO_TIMESTAMP,
   * baseOffset }` when there is none (Kafka's `TimeIndex.lookup`): records at or after
   * `timestamp` are at or after its offset.
   */
  lookup(timestamp: bigint): TimestampOffset {
    const slot = floorSlot(this.entries, (i) => this.entry(i).timestamp, timestamp);
    return slot < 0 ? { timestamp: NO_TIMESTAMP, offset: this.baseOffset } : this.entry(slot);
  }
}
