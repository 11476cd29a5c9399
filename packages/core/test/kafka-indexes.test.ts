import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  NO_TIMESTAMP,
  OffsetIndex,
  TimeIndex,
  decodeRecords,
  encodeProducerSnapshot,
  parsePartitionDirName,
  parseProducerSnapshot,
  parseRecordBatchHeader,
  parseTransactionIndex,
} from '@takhin/core';
import { KAFKA_LOG_DIR, batchesOf, fixtureSegments, largestSegment } from './fixtures/kafka-logdir.js';

/** Zeros after the real entries: how a running broker's active index looks (preallocated to 10 MiB). */
const preallocated = (bytes: Buffer, size: number) => Buffer.concat([bytes, Buffer.alloc(size - bytes.length)]);

describe('offset index (.index)', () => {
  it("names, at each entry's position, the batch whose LAST offset it is, in every real index", async () => {
    let entries = 0;
    for (const segment of await fixtureSegments()) {
      const log = await readFile(segment.log);
      const index = OffsetIndex.parse(await readFile(segment.index), segment.baseOffset, segment.index);
      for (let slot = 0; slot < index.entries; slot++) {
        const { offset, position } = index.entry(slot);
        expect(parseRecordBatchHeader(log.subarray(position)).lastOffset, `${segment.name} entry ${slot}`).toBe(offset);
        entries++;
      }
    }
    expect(entries).toBeGreaterThan(50);
  });

  it('finds the floor entry by binary search; before the first entry, the segment start', async () => {
    for (const segment of await fixtureSegments()) {
      const index = OffsetIndex.parse(await readFile(segment.index), segment.baseOffset);
      const all = Array.from({ length: index.entries }, (_, slot) => index.entry(slot));
      const last = (await batchesOf(segment.log)).at(-1)!.header.lastOffset;
      for (let offset = segment.baseOffset - 1n; offset <= last + 2n; offset++) {
        const floor = all.filter((e) => e.offset <= offset).at(-1) ?? { offset: segment.baseOffset, position: 0 };
        expect(index.lookup(offset), `${segment.name} offset ${offset}`).toEqual(floor);
      }
    }
  });

  it('ignores the zeros of a preallocated index: the 10 MiB a running broker leaves, and the 4 KiB one in the fixture', async () => {
    const segment = await largestSegment('payments-0');
    const bytes = await readFile(segment.index);
    const trimmed = OffsetIndex.parse(bytes, segment.baseOffset);
    const padded = OffsetIndex.parse(preallocated(bytes, 10 * 1024 * 1024), segment.baseOffset);
    expect(padded.entries).toBe(trimmed.entries);
    expect(padded.lookup(10_000n)).toEqual(trimmed.entry(trimmed.entries - 1));
    // A deleted topic's folder kept its active segment's preallocated index (segment.index.bytes=4096).
    const deleted = (await readdir(KAFKA_LOG_DIR)).find((name) => name.endsWith('-delete'))!;
    const real = await readFile(join(KAFKA_LOG_DIR, deleted, '00000000000000000000.index'));
    expect(real.length).toBe(4096);
    const index = OffsetIndex.parse(real, 0n);
    expect(index.entries).toBeGreaterThan(0);
    expect(index.entries).toBeLessThan(real.length / 8);
    const log = await readFile(join(KAFKA_LOG_DIR, deleted, '00000000000000000000.log'));
    for (let slot = 0; slot < index.entries; slot++) {
      expect(parseRecordBatchHeader(log.subarray(index.entry(slot).position)).lastOffset).toBe(index.entry(slot).offset);
    }
    // An index preallocated before any entry reads as one entry at the segment start: lookups land at position 0.
    expect(OffsetIndex.parse(Buffer.alloc(4096), 500n).lookup(777n)).toEqual({ offset: 500n, position: 0 });
    expect(OffsetIndex.parse(Buffer.alloc(0), 500n).entries).toBe(0);
  });

  it('rejects an index that is not whole entries, or whose entries go back, naming the file', async () => {
    expect(() => OffsetIndex.parse(Buffer.alloc(7), 0n, 'orders-0/00000000000000000000.index')).toThrow(
      'orders-0/00000000000000000000.index: offset index is corrupt: its 7 bytes are not a whole number of 8-byte entries',
    );
    const backwards = Buffer.alloc(16);
    backwards.writeInt32BE(9, 0);
    backwards.writeInt32BE(4096, 4);
    backwards.writeInt32BE(5, 8);
    backwards.writeInt32BE(8192, 12);
    expect(() => OffsetIndex.parse(backwards, 0n, 'x.index')).toThrow('x.index: offset index is corrupt: entry 1 (relative offset 5, position 8192) does not follow entry 0 (9, 4096)');
    expect(() => OffsetIndex.parse(Buffer.alloc(8), -1n)).toThrow(RangeError);
  });
});

describe('time index (.timeindex)', () => {
  it("holds, per entry, the largest timestamp so far and the last offset of the batch that has it, as DumpLogSegments checks", async () => {
    let entries = 0;
    for (const segment of await fixtureSegments()) {
      const batches = await batchesOf(segment.log);
      const index = TimeIndex.parse(await readFile(segment.timeindex), segment.baseOffset, segment.timeindex);
      for (let slot = 0; slot < index.entries; slot++) {
        const entry = index.entry(slot);
        const batch = batches.find((b) => b.header.lastOffset === entry.offset);
        expect(batch?.header.maxTimestamp, `${segment.name} entry ${slot}`).toBe(entry.timestamp);
        const largestSoFar = batches.filter((b) => b.header.lastOffset <= entry.offset).reduce((max, b) => (b.header.maxTimestamp > max ? b.header.maxTimestamp : max), NO_TIMESTAMP);
        expect(entry.timestamp).toBe(largestSoFar);
        entries++;
      }
      // A segment closed by a roll or a clean shutdown indexes its largest timestamp last.
      const largest = batches.reduce((max, b) => (b.header.maxTimestamp > max ? b.header.maxTimestamp : max), NO_TIMESTAMP);
      expect(index.lastEntry().timestamp, segment.name).toBe(largest);
    }
    expect(entries).toBeGreaterThan(50);
  });

  it('finds the floor entry by timestamp; before the first, no timestamp at the segment start', async () => {
    const segment = await largestSegment('orders.v1-events-0');
    const bytes = await readFile(segment.timeindex);
    const index = TimeIndex.parse(preallocated(bytes, 10 * 1024 * 1024 - 4), segment.baseOffset);
    expect(index.entries).toBe(bytes.length / 12);
    for (let slot = 0; slot < index.entries; slot++) {
      const entry = index.entry(slot);
      expect(index.lookup(entry.timestamp)).toEqual(entry);
      expect(index.lookup(entry.timestamp + 1n)).toEqual(entry);
      if (slot > 0) expect(index.lookup(entry.timestamp - 1n)).toEqual(index.entry(slot - 1));
    }
    expect(index.lookup(index.entry(0).timestamp - 1n)).toEqual({ timestamp: NO_TIMESTAMP, offset: segment.baseOffset });
    expect(TimeIndex.parse(Buffer.alloc(0), 7n).lastEntry()).toEqual({ timestamp: NO_TIMESTAMP, offset: 7n });
  });

  it('rejects a time index that is not whole entries or goes back in time', () => {
    expect(() => TimeIndex.parse(Buffer.alloc(13), 0n, 't.timeindex')).toThrow('t.timeindex: time index is corrupt: its 13 bytes are not a whole number of 12-byte entries');
    const backwards = Buffer.alloc(24);
    backwards.writeBigInt64BE(2000n, 0);
    backwards.writeInt32BE(3, 8);
    backwards.writeBigInt64BE(1000n, 12);
    backwards.writeInt32BE(5, 20);
    expect(() => TimeIndex.parse(backwards, 100n)).toThrow('time index is corrupt: entry 1 (timestamp 1000, offset 105) goes back from entry 0 (2000, 103)');
  });
});

describe('transaction index (.txnindex)', () => {
  it('parses the aborted transactions Kafka indexed, each ended by an ABORT marker at its last offset', async () => {
    const segments = (await fixtureSegments()).filter((s) => s.txnindex !== undefined);
    expect(segments.every((s) => s.name.startsWith('payments-0/'))).toBe(true);
    let abortedTotal = 0;
    for (const segment of segments) {
      const log = await readFile(segment.log);
      const batches = await batchesOf(segment.log);
      const aborted = parseTransactionIndex(await readFile(segment.txnindex!), segment.txnindex);
      expect(aborted.length).toBeGreaterThan(0);
      abortedTotal += aborted.length;
      for (const txn of aborted) {
        expect(txn.version).toBe(0);
        const marker = batches.find((b) => b.header.baseOffset === txn.lastOffset)!;
        expect(marker.header).toMatchObject({ isControl: true, producerId: txn.producerId });
        const [record] = decodeRecords(log.subarray(marker.position, marker.position + marker.header.sizeInBytes));
        expect(record!.key!.readInt16BE(2)).toBe(0); // control type 0: ABORT
        // The transaction's data: transactional batches of the same producer from firstOffset.
        const data = batches.filter((b) => b.header.baseOffset >= txn.firstOffset && b.header.lastOffset < txn.lastOffset);
        expect(data[0]!.header.baseOffset).toBe(txn.firstOffset);
        for (const b of data) expect(b.header).toMatchObject({ isTransactional: true, isControl: false, producerId: txn.producerId });
        // One producer: nothing else was open, so the last stable offset follows the marker.
        expect(txn.lastStableOffset).toBe(txn.lastOffset + 1n);
      }
    }
    // scripts/kafka/FixtureProducer.java aborts 2 of its 8 transactions.
    expect(abortedTotal).toBe(2);
  });

  it('rejects a partial entry and an unknown version', () => {
    expect(() => parseTransactionIndex(Buffer.alloc(35), 'p.txnindex')).toThrow('p.txnindex: transaction index is corrupt: its 35 bytes are not a whole number of 34-byte entries');
    const v1 = Buffer.alloc(34);
    v1.writeInt16BE(1, 0);
    expect(() => parseTransactionIndex(v1)).toThrow('transaction index at position 0 is not supported: entry 0 has version 1; only version 0 exists');
    expect(parseTransactionIndex(Buffer.alloc(0))).toEqual([]);
  });
});

describe('producer state snapshot (.snapshot)', () => {
  it("reads every snapshot the broker wrote, CRC checked, and encodes them back to Kafka's bytes", async () => {
    let snapshots = 0;
    for (const folder of await readdir(KAFKA_LOG_DIR)) {
      if (parsePartitionDirName(folder) === undefined) continue;
      for (const name of (await readdir(join(KAFKA_LOG_DIR, folder))).filter((n) => n.endsWith('.snapshot'))) {
        const bytes = await readFile(join(KAFKA_LOG_DIR, folder, name));
        const entries = parseProducerSnapshot(bytes, name);
        expect(encodeProducerSnapshot(entries).equals(bytes), `${folder}/${name}`).toBe(true);
        snapshots++;
      }
    }
    expect(snapshots).toBeGreaterThan(10);
  });

  it('names a snapshot whose CRC does not match', async () => {
    const name = (await readdir(join(KAFKA_LOG_DIR, 'orders.v1-events-0'))).filter((n) => n.endsWith('.snapshot')).sort().at(-1)!;
    const bytes = Buffer.from(await readFile(join(KAFKA_LOG_DIR, 'orders.v1-events-0', name)));
    bytes[bytes.length - 1]! ^= 1;
    expect(() => parseProducerSnapshot(bytes, name)).toThrow(/^\d{20}\.snapshot: producer snapshot is corrupt: CRC-32C mismatch: stored \d+, computed \d+$/);
  });
});
