import { kafkaCrc32c } from './kafka-crc32c.js';
import { corrupt, truncated, unsupported } from './kafka-format-error.js';

/** One producer's state, as Kafka's `ProducerStateManager` snapshots it in `<offset>.snapshot`. */
export interface ProducerSnapshotEntry {
  producerId: bigint;
  producerEpoch: number;
  /** Sequence of the producer's last record. */
  lastSequence: number;
  /** Offset of the producer's last data record. */
  lastOffset: bigint;
  /** Last sequence minus first sequence of the producer's last batch. */
  offsetDelta: number;
  /** Max timestamp of the producer's last batch. */
  timestamp: bigint;
  /** Epoch of the coordinator that wrote the producer's last transaction marker; -1 if none. */
  coordinatorEpoch: number;
  /** First offset of the producer's open transaction; -1 if none. */
  currentTxnFirstOffset: bigint;
}

/** Layout of a version 1 snapshot: version int16, CRC-32C (uint32) of what follows, an int32-counted array. */
export const ProducerSnapshotLayout = { VERSION: 1, CRC: 2, ENTRIES: 6, ENTRY_SIZE: 46 } as const;

/**
 * Parses a producer state snapshot (`<offset>.snapshot`) and checks its CRC, as Kafka's
 * `ProducerStateManager.readSnapshot` does. Not a segment file: tiering leaves it alone, but a
 * scanner may want to know what it holds.
 */
export function parseProducerSnapshot(bytes: Buffer, source?: string): ProducerSnapshotEntry[] {
  const what = 'producer snapshot';
  const L = ProducerSnapshotLayout;
  if (bytes.length < L.ENTRIES + 4) throw truncated(what, L.ENTRIES + 4, bytes.length, source);
  const version = bytes.readInt16BE(0);
  if (version !== L.VERSION) throw unsupported(what, `version ${version} (only version ${L.VERSION} exists)`, source);
  const stored = bytes.readUInt32BE(L.CRC);
  const actual = kafkaCrc32c(bytes.subarray(L.ENTRIES));
  if (stored !== actual) throw corrupt(what, `CRC-32C mismatch: stored ${stored}, computed ${actual}`, source);
  const count = bytes.readInt32BE(L.ENTRIES);
  const needed = L.ENTRIES + 4 + count * L.ENTRY_SIZE;
  if (count < 0 || bytes.length !== needed) throw corrupt(what, `${count} entries need ${needed} bytes, the file has ${bytes.length}`, source);
  const entries: ProducerSnapshotEntry[] = [];
  for (let at = L.ENTRIES + 4; at < bytes.length; at += L.ENTRY_SIZE) {
    entries.push({
      producerId: bytes.readBigInt64BE(at),
      producerEpoch: bytes.readInt16BE(at + 8),
      lastSequence: bytes.readInt32BE(at + 10),
      lastOffset: bytes.readBigInt64BE(at + 14),
      offsetDelta: bytes.readInt32BE(at + 22),
      timestamp: bytes.readBigInt64BE(at + 26),
      coordinatorEpoch: bytes.readInt32BE(at + 34),
      currentTxnFirstOffset: bytes.readBigInt64BE(at + 38),
    });
  }
  return entries;
}

/** The bytes Kafka writes for a snapshot of these entries (the inverse of `parseProducerSnapshot`). */
export function encodeProducerSnapshot(entries: readonly ProducerSnapshotEntry[]): Buffer {
  const L = ProducerSnapshotLayout;
  const bytes = Buffer.alloc(L.ENTRIES + 4 + entries.length * L.ENTRY_SIZE);
  bytes.writeInt16BE(L.VERSION, 0);
  bytes.writeInt32BE(entries.length, L.ENTRIES);
  let at = L.ENTRIES + 4;
  for (const entry of entries) {
    at = bytes.writeBigInt64BE(entry.producerId, at);
    at = bytes.writeInt16BE(entry.producerEpoch, at);
    at = bytes.writeInt32BE(entry.lastSequence, at);
    at = bytes.writeBigInt64BE(entry.lastOffset, at);
    at = bytes.writeInt32BE(entry.offsetDelta, at);
    at = bytes.writeBigInt64BE(entry.timestamp, at);
    at = bytes.writeInt32BE(entry.coordinatorEpoch, at);
    at = bytes.writeBigInt64BE(entry.currentTxnFirstOffset, at);
  }
  bytes.writeUInt32BE(kafkaCrc32c(bytes.subarray(L.ENTRIES)), L.CRC);
  return bytes;
}
