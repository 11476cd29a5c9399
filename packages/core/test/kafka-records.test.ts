import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { RecordBatchLayout, decodeRecords } from '@takhin/core';
import { batchesOf, fixtureSegments } from './fixtures/kafka-logdir.js';

describe('records of a v2 batch', () => {
  it("decodes every record of the fixture's user topics: one offset each, contiguous, keys, values and headers as produced", async () => {
    let records = 0;
    for (const segment of (await fixtureSegments()).filter((s) => /^(orders|payments)/.test(s.name))) {
      const log = await readFile(segment.log);
      let expected = segment.baseOffset;
      for (const { position, header } of await batchesOf(segment.log)) {
        const decoded = decodeRecords(log.subarray(position, position + header.sizeInBytes), { source: segment.name, position });
        expect(decoded).toHaveLength(header.recordsCount);
        for (const record of decoded) {
          expect(record.offset).toBe(expected++);
          expect(record.timestamp >= header.baseTimestamp && record.timestamp <= header.maxTimestamp).toBe(true);
          if (header.isControl) continue;
          // FixtureProducer: keys "<kind>-<n>" and a "trace-id" header "t-<n>"; a keyless record and a null value exist too.
          const key = record.key?.toString();
          if (key === 'tombstone-1') {
            expect(record.value).toBeNull();
          } else if (key !== undefined) {
            const n = /^(order|payment)-(\d+)$/.exec(key)![2];
            expect(record.headers[0]).toEqual({ key: 'trace-id', value: Buffer.from(`t-${n}`) });
            expect(JSON.parse(record.value!.toString()).id).toBe(Number(n));
          } else {
            expect(record.value?.toString()).toBe('keyless');
          }
          records++;
        }
      }
    }
    expect(records).toBe(600 + 2 + 8 * 25);
  });

  it('refuses compressed records and a record running past its batch, naming the batch', async () => {
    const [segment] = (await fixtureSegments()).filter((s) => s.name.startsWith('orders'));
    const log = await readFile(segment!.log);
    const [first] = await batchesOf(segment!.log);
    const batch = Buffer.from(log.subarray(0, first!.header.sizeInBytes));
    const gzip = Buffer.from(batch);
    gzip.writeInt16BE(1, RecordBatchLayout.ATTRIBUTES);
    expect(() => decodeRecords(gzip, { source: 'o-0/00000000000000000000.log', position: 0 })).toThrow(
      /^o-0\/00000000000000000000\.log: record batch of offsets 0\.\.\d+ at position 0 is not supported: its records are gzip-compressed; only uncompressed records are decoded$/,
    );
    const extra = Buffer.from(batch);
    extra.writeInt32BE(first!.header.recordsCount + 1, RecordBatchLayout.RECORDS_COUNT);
    expect(() => decodeRecords(extra)).toThrow(/is corrupt: a varint runs past the end of the batch/);
    const fewer = Buffer.from(batch);
    fewer.writeInt32BE(first!.header.recordsCount - 1, RecordBatchLayout.RECORDS_COUNT);
    expect(() => decodeRecords(fewer)).toThrow(/is corrupt: \d+ bytes follow the last of its \d+ records/);
    expect(() => decodeRecords(batch.subarray(0, batch.length - 1))).toThrow(/is truncated/);
  });
});
