import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeRecords, openFileRangeReader, parsePartitionDirName, parseSegmentFileName, walkBatchHeaders } from '@takhin/core';
import { encodeRecordBatch, encodedBatchSize, kafkaFixtureLogDir, type EncodableBatch } from '@takhin/testkit';

/** Every uncompressed batch of the real Kafka log dir, with its bytes. */
async function* realBatches(): AsyncGenerator<{ name: string; bytes: Buffer }> {
  const root = kafkaFixtureLogDir();
  for (const folder of await readdir(root)) {
    if (parsePartitionDirName(folder) === undefined) continue;
    for (const name of await readdir(join(root, folder))) {
      if (parseSegmentFileName(name)?.extension !== 'log' || (await stat(join(root, folder, name))).size === 0) continue;
      const log = await readFile(join(root, folder, name));
      const reader = await openFileRangeReader(join(root, folder, name));
      try {
        for await (const { position, header } of walkBatchHeaders(reader.read, 0)) {
          if (header.compression === 'none') yield { name: `${folder}/${name}@${position}`, bytes: log.subarray(position, position + header.sizeInBytes) };
        }
      } finally {
        await reader.close();
      }
    }
  }
}

describe('record batch encoder', () => {
  it('re-encodes every batch Kafka wrote in the fixture to the very same bytes, CRC included', async () => {
    let batches = 0;
    for await (const { name, bytes } of realBatches()) {
      const records = decodeRecords(bytes);
      const batch: EncodableBatch = {
        baseOffset: bytes.readBigInt64BE(0),
        partitionLeaderEpoch: bytes.readInt32BE(12),
        attributes: bytes.readInt16BE(21),
        lastOffsetDelta: bytes.readInt32BE(23),
        baseTimestamp: bytes.readBigInt64BE(27),
        maxTimestamp: bytes.readBigInt64BE(35),
        producerId: bytes.readBigInt64BE(43),
        producerEpoch: bytes.readInt16BE(51),
        baseSequence: bytes.readInt32BE(53),
        records: records.map((r) => ({
          offsetDelta: Number(r.offset - bytes.readBigInt64BE(0)),
          timestampDelta: Number(r.timestamp - bytes.readBigInt64BE(27)),
          key: r.key,
          value: r.value,
          headers: r.headers,
        })),
      };
      expect(encodedBatchSize(batch), name).toBe(bytes.length);
      const target = Buffer.alloc(bytes.length + 10);
      expect(encodeRecordBatch(batch, target, 10)).toBe(bytes.length);
      expect(target.subarray(10).equals(bytes), name).toBe(true);
      batches++;
    }
    // Data batches of every user topic, transaction markers, internal topics and KRaft's metadata log.
    expect(batches).toBeGreaterThan(200);
  });
});
