import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  OffsetIndex,
  TimeIndex,
  decodeRecords,
  openFileRangeReader,
  parseTransactionIndex,
  verifyRecordBatch,
  readLogBatchHeaders,
  walkBatchHeaders,
  type LocatedBatch,
} from '@takhin/core';
import { peakBufferGrowth, segmentFileName, writeSegment, type GeneratedSegment } from '@takhin/testkit';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'takhin-segment-generator-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});


/** Checks a generated segment with core's readers; returns its batches. */
async function checkSegment(segment: GeneratedSegment): Promise<LocatedBatch[]> {
  const log = await readFile(segment.files.log);
  const batches = await readLogBatchHeaders(segment.files.log);
  expect(log.length).toBe(segment.logBytes);
  expect(batches).toHaveLength(segment.batches);
  let next = segment.baseOffset;
  for (const { position, header } of batches) {
    verifyRecordBatch(log.subarray(position, position + header.sizeInBytes), { position });
    expect(header.baseOffset).toBe(next);
    expect(decodeRecords(log.subarray(position, position + header.sizeInBytes)).map((r) => r.offset)).toEqual(
      Array.from({ length: header.recordsCount }, (_, i) => header.baseOffset + BigInt(i)),
    );
    next = header.lastOffset + 1n;
  }
  expect(next).toBe(segment.nextOffset);
  expect(segment.records).toBe(Number(segment.nextOffset - segment.baseOffset));
  return batches;
}

describe('writeSegment', () => {
  it('writes v2 batches of several records, and the index entries Kafka would: after more than index.interval.bytes, naming the batch last offset', async () => {
    const segment = await writeSegment(work, { topic: 'orders.v1-events', partition: 3, baseOffset: 1_000n, logBytes: 200_000, recordBytes: 300, indexIntervalBytes: 4096 });
    expect(segment.segmentPath).toBe(`orders.v1-events-3/${segmentFileName(1_000n, 'log')}`);
    expect(segment.files.txnindex).toBeUndefined();
    const batches = await checkSegment(segment);
    expect(batches.every((b) => b.header.recordsCount === Math.floor(16384 / 300))).toBe(true);
    const index = OffsetIndex.parse(await readFile(segment.files.index), segment.baseOffset);
    expect(index.entries).toBe(segment.indexEntries);
    // Kafka's LogSegment.append: entry for a batch when the bytes since the last entry (before it) exceed the interval.
    let since = 0;
    const expected = [];
    for (const { position, header } of batches) {
      if (since > 4096) {
        expected.push({ offset: header.lastOffset, position });
        since = 0;
      }
      since += header.sizeInBytes;
    }
    expect(Array.from({ length: index.entries }, (_, i) => index.entry(i))).toEqual(expected);
    const timeIndex = TimeIndex.parse(await readFile(segment.files.timeindex), segment.baseOffset);
    expect(timeIndex.entries).toBe(segment.timeIndexEntries);
    // Timestamps grow with every batch, so each offset entry has its time entry, plus the one a
    // rolled segment gets for its largest timestamp unless its last batch was indexed already.
    const lastIndexed = index.entry(index.entries - 1).offset === segment.lastOffset;
    expect(timeIndex.entries).toBe(index.entries + (lastIndexed ? 0 : 1));
    expect(timeIndex.lastEntry()).toEqual({ timestamp: batches.at(-1)!.header.maxTimestamp, offset: segment.lastOffset });
    expect(Number(timeIndex.lastEntry().timestamp)).toBe(segment.lastTimestampMs);
  });

  it('writes transactions with COMMIT and ABORT markers, and a .txnindex listing the aborted ones', async () => {
    const segment = await writeSegment(work, {
      topic: 'payments-ledger',
      partition: 0,
      baseOffset: 0n,
      logBytes: 60_000,
      recordBytes: 100,
      recordsPerBatch: 5,
      transactions: { batchesPerTransaction: 3, abortEvery: 2 },
      producer: { producerId: 4242n, producerEpoch: 3 },
    });
    const batches = await checkSegment(segment);
    const log = await readFile(segment.files.log);
    const markers = batches.filter((b) => b.header.isControl);
    expect(markers.length).toBe(Math.ceil((batches.length - markers.length) / 3));
    expect(batches.at(-1)!.header.isControl).toBe(true); // no segment ends inside a transaction
    const outcomes = markers.map((m) => decodeRecords(log.subarray(m.position, m.position + m.header.sizeInBytes))[0]!.key!.readInt16BE(2));
    expect(outcomes).toEqual(markers.map((_, i) => (i % 2 === 1 ? 0 : 1))); // every second transaction aborted (0 = ABORT)
    const aborted = parseTransactionIndex(await readFile(segment.files.txnindex!));
    expect(aborted).toEqual(segment.abortedTransactions);
    expect(aborted.map((a) => a.lastOffset)).toEqual(markers.filter((_, i) => i % 2 === 1).map((m) => m.header.baseOffset));
    for (const txn of aborted) {
      expect(txn).toMatchObject({ version: 0, producerId: 4242n, lastStableOffset: txn.lastOffset + 1n });
      expect(batches.find((b) => b.header.baseOffset === txn.firstOffset)!.header).toMatchObject({ isTransactional: true, isControl: false, producerEpoch: 3 });
    }
    expect(segment.producerState).toMatchObject({ producerId: 4242n, producerEpoch: 3, currentTxnFirstOffset: -1n, coordinatorEpoch: 0 });
  });

  it('writes an active segment as a running broker has it: indexes preallocated with zeros, no closing time entry', async () => {
    const segment = await writeSegment(work, { topic: 'orders.v1-events', partition: 9, baseOffset: 77n, logBytes: 50_000, preallocateIndexBytes: 10 * 1024 * 1024 });
    expect(segment.active).toBe(true);
    expect((await stat(segment.files.index)).size).toBe(10_485_760);
    expect((await stat(segment.files.timeindex)).size).toBe(10_485_756);
    expect((await stat(segment.files.index)).blocks * 512).toBeLessThan(1024 * 1024); // sparse, as Kafka's setLength leaves it
    const index = OffsetIndex.parse(await readFile(segment.files.index), 77n);
    expect(index.entries).toBe(segment.indexEntries);
    expect(TimeIndex.parse(await readFile(segment.files.timeindex), 77n).entries).toBe(segment.indexEntries);
    await checkSegment(segment);
  });

  it('sets the mtime, continues a producer across segments, and writes empty segments', async () => {
    const mtime = new Date('2026-03-04T05:06:07Z');
    const first = await writeSegment(work, { topic: 't', partition: 0, baseOffset: 0n, logBytes: 10_000, mtime });
    const second = await writeSegment(work, { topic: 't', partition: 0, baseOffset: first.nextOffset, logBytes: 10_000, producer: { firstSequence: first.nextSequence } });
    for (const file of Object.values(first.files)) expect((await stat(file)).mtime).toEqual(mtime);
    const [secondFirst] = await readLogBatchHeaders(second.files.log);
    expect(secondFirst!.header.baseSequence).toBe(first.producerState!.lastSequence + 1);
    const empty = await writeSegment(work, { topic: 't', partition: 1, baseOffset: 5n, logBytes: 0 });
    expect(empty).toMatchObject({ records: 0, batches: 0, logBytes: 0, lastOffset: 4n, nextOffset: 5n, indexEntries: 0, timeIndexEntries: 0 });
    const keyless = await writeSegment(work, { topic: 't', partition: 2, baseOffset: 0n, logBytes: 1, producer: null });
    expect((await readLogBatchHeaders(keyless.files.log))[0]!.header).toMatchObject({ producerId: -1n, producerEpoch: -1, baseSequence: -1 });
  });

  it('names the field of a spec no broker could have written', async () => {
    await expect(writeSegment(work, { topic: 't', partition: 0, baseOffset: -1n, logBytes: 1 })).rejects.toThrow('segment spec: baseOffset must be a non-negative bigint, got -1');
    await expect(writeSegment(work, { topic: 't', partition: 0, baseOffset: 0n, logBytes: 2 ** 31 })).rejects.toThrow(/logBytes must be an integer from 0 to 2 GiB/);
    await expect(writeSegment(work, { topic: 't', partition: 0, baseOffset: 0n, logBytes: 1, recordsPerBatch: 0 })).rejects.toThrow('segment spec: recordsPerBatch must be a positive integer, got 0');
    await expect(writeSegment(work, { topic: 't', partition: 0, baseOffset: 0n, logBytes: 1, transactions: { batchesPerTransaction: 1 }, producer: null })).rejects.toThrow(
      'segment spec: producer must be a producer with an id for transactions, got null',
    );
    await expect(writeSegment(work, { topic: 'bad topic', partition: 0, baseOffset: 0n, logBytes: 1 })).rejects.toThrow('not a legal Kafka topic name: "bad topic"');
  });

  it('streams a 256 MiB segment in bounded memory', async () => {
    const { result, peakGrowthBytes } = await peakBufferGrowth(() => writeSegment(work, { topic: 'big', partition: 0, baseOffset: 0n, logBytes: 256 * 1024 * 1024 }));
    expect(result.logBytes).toBeGreaterThanOrEqual(256 * 1024 * 1024);
    expect((await stat(result.files.log)).size).toBe(result.logBytes);
    // Two 1 MiB write buffers and one patterned value block; nothing proportional to the segment.
    expect(peakGrowthBytes).toBeLessThan(16 * 1024 * 1024);
    const index = OffsetIndex.parse(await readFile(result.files.index), 0n);
    const reader = await openFileRangeReader(result.files.log);
    try {
      const lastEntry = index.entry(index.entries - 1);
      const walk = walkBatchHeaders(reader.read, lastEntry.position);
      const batch = (await walk.next()).value as LocatedBatch;
      await walk.return(undefined);
      expect(batch.header.lastOffset).toBe(lastEntry.offset);
    } finally {
      await reader.close();
    }
    await rm(result.files.log);
  });
});
