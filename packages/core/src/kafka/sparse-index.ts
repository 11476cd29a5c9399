import { corrupt } from './kafka-format-error.js';

/**
 * The number of entries in a sparse Kafka index (`.index`, `.timeindex`) of `entrySize`-byte
 * entries whose relative offset (int32) sits at `relativeOffsetAt` within each entry.
 *
 * An active segment's index is preallocated (10 MiB of zeros by default) and a crashed broker
 * leaves it so. Entries hold strictly increasing offsets, so only the first entry can have
 * relative offset 0: the first later entry that does marks the end of the real entries, the
 * rule Kafka's DumpLogSegments applies. (An index with no entries yet reads as one entry at
 * relative offset 0; floor lookups land at the segment's start either way.)
 */
export function countIndexEntries(bytes: Buffer, entrySize: number, relativeOffsetAt: number, what: string, source?: string): number {
  if (bytes.length % entrySize !== 0) {
    throw corrupt(what, `its ${bytes.length} bytes are not a whole number of ${entrySize}-byte entries`, source);
  }
  const slots = bytes.length / entrySize;
  for (let i = 1; i < slots; i++) {
    if (bytes.readInt32BE(i * entrySize + relativeOffsetAt) === 0) return i;
  }
  return slots;
}

/**
 * The last of `count` ascending keys that is at most `target`, or -1 if all are above it
 * (Kafka's `AbstractIndex.largestLowerBoundSlotFor`).
 */
export function floorSlot(count: number, keyAt: (slot: number) => bigint, target: bigint): number {
  let low = 0;
  let high = count - 1;
  let found = -1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    if (keyAt(middle) <= target) {
      found = middle;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  return found;
}
