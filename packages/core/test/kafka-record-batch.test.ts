import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { KafkaFormatError, RecordBatchLayout, kafkaCrc32c, parseRecordBatchHeader, recordBatchCrc, verifyRecordBatch } from '@takhin/core';
import { batchesOf, fixtureSegments } from './fixtures/kafka-logdir.js';

/** The first batch of a real Kafka segment, copied so a test may damage it. */
async function firstRealBatch(): Promise<Buffer> {
  const [segment] = await fixtureSegments();
  const bytes = await readFile(segment!.log);
  return Buffer.from(bytes.subarray(0, parseRecordBatchHeader(bytes).sizeInBytes));
}

/** A genuine v0/v1 message (Kafka before 0.11): offset, size, CRC-32, magic, attributes, [timestamp], key, value. */
function legacyMessage(magic: 0 | 1): Buffer {
  const value = Buffer.from('old');
  const body = Buffer.alloc(1 + 1 + (magic === 1 ? 8 : 0) + 4 + 4 + value.length);
  let at = body.writeInt8(magic, 0);
  at = body.writeInt8(0, at);
  if (magic === 1) at = body.writeBigInt64BE(1_500_000_000_000n, at);
  at = body.writeInt32BE(-1, at);
  at = body.writeInt32BE(value.length, at);
  value.copy(body, at);
  const head = Buffer.alloc(16);
  head.writeBigInt64BE(7n, 0);
  head.writeInt32BE(4 + body.length, 8);
  return Buffer.concat([head, body]);
}

describe('record batch v2 header', () => {
  it('parses every batch Kafka wrote in the fixture: CRC valid, offsets contiguous, sizes adding up to the file', async () => {
    const segments = await fixtureSegments();
    expect(segments.length).toBeGreaterThan(10);
    for (const segment of segments) {
      const log = await readFile(segment.log);
      const batches = await batchesOf(segment.log);
      expect(batches[0]!.header.baseOffset, segment.name).toBe(segment.baseOffset);
      let expectedOffset = segment.baseOffset;
      let end = 0;
      for (const { position, header } of batches) {
        expect(position).toBe(end);
        expect(header.baseOffset, `${segment.name} at ${position}`).toBe(expectedOffset);
        expect(header.magic).toBe(2);
        // Nothing here was compacted: every offset of the range holds a record.
        expect(header.recordsCount).toBe(header.lastOffsetDelta + 1);
        expect(header.maxTimestamp >= header.baseTimestamp).toBe(true);
        expect(verifyRecordBatch(log.subarray(position, position + header.sizeInBytes), { source: segment.name, position })).toEqual(header);
        expectedOffset = header.lastOffset + 1n;
        end = position + header.sizeInBytes;
      }
      expect(end).toBe(log.length);
    }
  });

  it('reads the fields of a transaction marker as Kafka wrote them', async () => {
    const markers = [];
    for (const segment of (await fixtureSegments()).filter((s) => s.name.startsWith('payments-0/'))) {
      markers.push(...(await batchesOf(segment.log)).filter((b) => b.header.isControl).map((b) => b.header));
    }
    // 8 transactions, each ended by one marker: a single-record control batch of a transactional producer, no sequence.
    expect(markers).toHaveLength(8);
    for (const marker of markers) {
      expect(marker).toMatchObject({ isTransactional: true, recordsCount: 1, lastOffsetDelta: 0, baseSequence: -1, compression: 'none' });
      expect(marker.producerId >= 0n).toBe(true);
    }
  });

  it('computes CRC-32C: the standard check value and the CRC stored in a real batch', async () => {
    expect(kafkaCrc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    const batch = await firstRealBatch();
    expect(recordBatchCrc(batch)).toBe(batch.readUInt32BE(RecordBatchLayout.CRC));
  });

  it('names a corrupt CRC: a flipped bit in the records or the attributes', async () => {
    for (const at of [RecordBatchLayout.RECORDS + 5, RecordBatchLayout.ATTRIBUTES + 1]) {
      const batch = await firstRealBatch();
      batch[at]! ^= 0x04;
      const error = captured(() => verifyRecordBatch(batch, { source: 'orders-0/00000000000000000000.log', position: 0 }));
      expect(error.code).toBe('CORRUPT');
      expect(error.message).toMatch(/^orders-0\/00000000000000000000\.log: record batch of offsets \d+\.\.\d+ at position 0 is corrupt: CRC-32C mismatch: the header says 0x[0-9a-f]{8}, the bytes give 0x[0-9a-f]{8}$/);
    }
  });

  it("leaves the base offset, length, leader epoch and magic outside the CRC, as Kafka's does", async () => {
    const batch = await firstRealBatch();
    const original = parseRecordBatchHeader(batch);
    batch.writeInt32BE(original.partitionLeaderEpoch + 7, RecordBatchLayout.PARTITION_LEADER_EPOCH);
    batch.writeBigInt64BE(original.baseOffset + 1000n, RecordBatchLayout.BASE_OFFSET);
    const header = verifyRecordBatch(batch);
    expect(header.partitionLeaderEpoch).toBe(original.partitionLeaderEpoch + 7);
    expect(header.lastOffset).toBe(original.lastOffset + 1000n);
  });

  it('says v0 and v1 message sets are not supported, on genuine legacy messages', () => {
    for (const magic of [0, 1] as const) {
      const error = captured(() => parseRecordBatchHeader(legacyMessage(magic), { source: 'old-0/00000000000000000000.log', position: 0 }));
      expect(error.code).toBe('UNSUPPORTED');
      expect(error.message).toBe(
        `old-0/00000000000000000000.log: record batch at position 0 has magic ${magic}: a v${magic} message set (Kafka before 0.11) is not supported, only v2 record batches are`,
      );
    }
  });

  it('refuses an unknown magic, a length below the header, an unknown codec and negative counts, naming each', async () => {
    const cases: Array<[string, (b: Buffer) => void, RegExp]> = [
      ['magic 3', (b) => b.writeInt8(3, RecordBatchLayout.MAGIC), /magic 3 is unknown/],
      ['length 10', (b) => b.writeInt32BE(10, RecordBatchLayout.BATCH_LENGTH), /length field says 10 bytes, below the 49 a v2 header takes/],
      ['codec 6', (b) => b.writeInt16BE(6, RecordBatchLayout.ATTRIBUTES), /compression codec 6 is unknown/],
      ['count -1', (b) => b.writeInt32BE(-1, RecordBatchLayout.RECORDS_COUNT), /records count -1 is negative/],
      ['delta -2', (b) => b.writeInt32BE(-2, RecordBatchLayout.LAST_OFFSET_DELTA), /last offset delta -2 is negative/],
    ];
    for (const [name, damage, message] of cases) {
      const batch = await firstRealBatch();
      damage(batch);
      expect(() => parseRecordBatchHeader(batch), name).toThrow(message);
    }
  });

  it('says how many bytes a truncated header or batch has and needs', async () => {
    const batch = await firstRealBatch();
    const header = captured(() => parseRecordBatchHeader(batch.subarray(0, 40), { position: 4096 }));
    expect(header.code).toBe('TRUNCATED');
    expect(header.message).toBe('record batch header at position 4096 is truncated: it needs 61 bytes, the data has 40');
    const whole = captured(() => verifyRecordBatch(batch.subarray(0, batch.length - 1)));
    expect(whole.code).toBe('TRUNCATED');
    expect(whole.message).toMatch(new RegExp(`is truncated: it needs ${batch.length} bytes, the data has ${batch.length - 1}$`));
    expect(captured(() => parseRecordBatchHeader(Buffer.alloc(0))).code).toBe('TRUNCATED');
  });
});

function captured(action: () => unknown): KafkaFormatError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(KafkaFormatError);
    return error as KafkaFormatError;
  }
  throw new Error('expected a KafkaFormatError, nothing was thrown');
}
