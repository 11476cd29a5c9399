import { copyFile, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OffsetIndex, bufferRangeReader, findBatch, openFileRangeReader, readBatches, readBatchesOrEnd, walkBatchHeaders, type LocatedBatch } from '@takhin/core';
import { batchesOf, countingReader, fixtureSegments, largestSegment, type FixtureSegment } from './fixtures/kafka-logdir.js';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'takhin-kafka-walker-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** The batch holding `offset`, found the slow way: a scan from the start of the segment. */
const holding = (batches: LocatedBatch[], offset: bigint) => batches.find((b) => b.header.baseOffset <= offset && offset <= b.header.lastOffset);

async function indexOf(segment: FixtureSegment): Promise<OffsetIndex> {
  return OffsetIndex.parse(await readFile(segment.index), segment.baseOffset, segment.index);
}

describe('batch walker on real Kafka segments', () => {
  it('finds, from the offset index floor, the batch holding every offset of every segment', async () => {
    let checked = 0;
    let expected = 0;
    for (const segment of await fixtureSegments()) {
      const batches = await batchesOf(segment.log);
      const index = await indexOf(segment);
      const reader = await openFileRangeReader(segment.log);
      try {
        const last = batches.at(-1)!.header.lastOffset;
        expected += Number(last - segment.baseOffset) + 1;
        for (let offset = segment.baseOffset; offset <= last; offset++) {
          const floor = index.lookup(offset);
          const found = await findBatch(reader.read, floor.position, offset, { source: segment.name });
          expect(found, `${segment.name} offset ${offset}`).toEqual(holding(batches, offset));
          checked++;
        }
        expect(await findBatch(reader.read, index.lookup(last + 1n).position, last + 1n)).toBeUndefined();
      } finally {
        await reader.close();
      }
    }
    expect(checked).toBe(expected);
    expect(checked).toBeGreaterThan(500);
  });

  it('reads only headers while walking, and only the returned batches after', async () => {
    const segment = await largestSegment('orders.v1-events-0');
    const batches = await batchesOf(segment.log);
    const target = batches[10]!;
    const index = await indexOf(segment);
    const floor = index.lookup(target.header.baseOffset);
    const walked = batches.filter((b) => b.position >= floor.position && b.position <= target.position).length;
    const reader = await countingReader(segment.log);
    try {
      const fetched = await readBatches(reader.read, { startPosition: floor.position, targetOffset: target.header.baseOffset, maxBytes: 1 });
      expect(fetched!.batches).toEqual([target]);
      // One 61-byte header a batch from the floor to the target and the one after (to see it does not fit), then the batch itself.
      expect(reader.requests).toBe(walked + 2);
      expect(reader.bytes).toBe(61 * (walked + 1) + target.header.sizeInBytes);
      expect(reader.bytes).toBeLessThan(segment.logBytes / 4);
    } finally {
      await reader.close();
    }
  });

  it('returns whole batches up to maxBytes, at least one, with the bytes exactly as stored', async () => {
    for (const segment of (await fixtureSegments()).filter((s) => s.name.startsWith('payments-0/') || s.name.startsWith('orders.v1-events-1/'))) {
      const log = await readFile(segment.log);
      const batches = await batchesOf(segment.log);
      const index = await indexOf(segment);
      for (const [i, batch] of batches.entries()) {
        // Inside the batch (its last offset), with room for it and exactly two more, when there are two more.
        const target = batch.header.lastOffset;
        const following = batches.slice(i, i + 3);
        const budget = following.reduce((sum, b) => sum + b.header.sizeInBytes, 0);
        const fetched = await readBatches(bufferRangeReader(log), { startPosition: index.lookup(target).position, targetOffset: target, maxBytes: budget + 60 });
        expect(fetched!.batches).toEqual(following);
        expect(fetched!.position).toBe(batch.position);
        expect(fetched!.bytes.equals(log.subarray(batch.position, batch.position + budget))).toBe(true);
        expect(fetched!.nextOffset).toBe(following.at(-1)!.header.lastOffset + 1n);
        // A budget below one batch still returns that whole batch.
        const one = await readBatches(bufferRangeReader(log), { startPosition: 0, targetOffset: batch.header.baseOffset, maxBytes: 1 });
        expect(one!.batches).toEqual([batch]);
      }
      const everything = await readBatches(bufferRangeReader(log), { startPosition: 0, targetOffset: 0n, maxBytes: 2 ** 31 });
      expect(everything!.bytes.equals(log)).toBe(true);
      expect(await readBatches(bufferRangeReader(log), { startPosition: 0, targetOffset: everything!.nextOffset, maxBytes: 1 })).toBeUndefined();
    }
  });

  it('gives the same answers through a file reader and a buffer reader', async () => {
    const segment = await largestSegment('payments-0');
    const batches = await batchesOf(segment.log);
    const target = batches[Math.floor(batches.length / 2)]!.header.baseOffset + 1n;
    const file = await openFileRangeReader(segment.log);
    try {
      const viaFile = await readBatches(file.read, { startPosition: 0, targetOffset: target, maxBytes: 4096 });
      const viaBuffer = await readBatches(bufferRangeReader(await readFile(segment.log)), { startPosition: 0, targetOffset: target, maxBytes: 4096 });
      expect(viaFile!.batches.length).toBeGreaterThan(1);
      expect(viaFile).toEqual(viaBuffer);
      expect(file.size).toBe(segment.logBytes);
      expect(await file.read(file.size, 10)).toHaveLength(0);
      expect(await file.read(file.size - 3, 10)).toHaveLength(3);
    } finally {
      await file.close();
    }
  });

  it('into a lent buffer: the bytes land at its start, cut to fit it as to maxBytes, through a file reader and a buffer reader alike', async () => {
    const segment = await largestSegment('payments-0');
    const log = await readFile(segment.log);
    const batches = await batchesOf(segment.log);
    const target = batches[Math.floor(batches.length / 2)]!.header.baseOffset;
    const file = await openFileRangeReader(segment.log);
    try {
      for (const read of [file.read, bufferRangeReader(log)]) {
        // A view with bytes on both sides of it, to see nothing lands outside it.
        const memory = Buffer.alloc(8192 + 64, 0xee);
        const into = memory.subarray(32, 32 + 8192);
        const lent = await readBatches(read, { startPosition: 0, targetOffset: target, maxBytes: 1 << 20, into });
        // The same batches as a read without it whose maxBytes is the buffer's size.
        const own = await readBatches(read, { startPosition: 0, targetOffset: target, maxBytes: into.byteLength });
        expect(lent!.batches.length).toBeGreaterThan(1);
        expect(lent!.batches).toEqual(own!.batches);
        expect(lent!.bytes.equals(own!.bytes)).toBe(true);
        expect(lent!.bytes.buffer).toBe(memory.buffer);
        expect(lent!.bytes.byteOffset).toBe(into.byteOffset);
        expect(memory.subarray(0, 32).every((byte) => byte === 0xee)).toBe(true);
        expect(memory.subarray(32 + lent!.bytes.length).every((byte) => byte === 0xee)).toBe(true);
        // A first batch larger than the buffer comes whole, in a buffer of its own; the lent one is untouched.
        const small = Buffer.alloc(10, 0xee);
        const whole = await readBatches(read, { startPosition: 0, targetOffset: target, maxBytes: 1 << 20, into: small });
        expect(whole!.batches).toEqual([batches.find((b) => b.header.baseOffset === target)]);
        expect(whole!.bytes.buffer).not.toBe(small.buffer);
        expect(small.every((byte) => byte === 0xee)).toBe(true);
        await expect(read(0, 11, small)).rejects.toThrow('into holds 10 bytes, fewer than the 11 asked for');
      }
    } finally {
      await file.close();
    }
  });

  it('reports a segment cut inside its last batch as truncated, wherever the walk starts', async () => {
    const segment = await largestSegment('orders.v1-events-0');
    const batches = await batchesOf(segment.log);
    const last = batches.at(-1)!;
    const path = join(work, 'truncated.log');
    await copyFile(segment.log, path);
    await truncate(path, last.position + 100);
    const reader = await openFileRangeReader(path);
    try {
      const walk = async () => {
        for await (const batch of walkBatchHeaders(reader.read, batches.at(-3)!.position, { source: 'orders-0/00000000000000000000.log' })) void batch;
      };
      await expect(walk()).rejects.toMatchObject({
        code: 'TRUNCATED',
        message: `orders-0/00000000000000000000.log: record batch of offsets ${last.header.baseOffset}..${last.header.lastOffset} at position ${last.position} is truncated: it needs ${last.header.sizeInBytes} bytes, the data has 100`,
      });
      await expect(readBatches(reader.read, { startPosition: last.position, targetOffset: last.header.baseOffset, maxBytes: 1 })).rejects.toMatchObject({ code: 'TRUNCATED' });
      // A header cut short is truncated too.
      await truncate(path, last.position + 30);
      const cut = await openFileRangeReader(path);
      await expect(findBatch(cut.read, last.position, last.header.baseOffset)).rejects.toThrow(/record batch header at position \d+ is truncated: it needs 61 bytes, the data has 30/);
      await cut.close();
    } finally {
      await reader.close();
    }
  });

  it('with appending (the active segment), ends the data before a batch or header cut short: the batch being written', async () => {
    const segment = await largestSegment('orders.v1-events-0');
    const bytes = await readFile(segment.log);
    const batches = await batchesOf(segment.log);
    const last = batches.at(-1)!;
    for (const cut of [last.position + 100, last.position + 30]) {
      const read = bufferRangeReader(bytes.subarray(0, cut));
      const walked: LocatedBatch[] = [];
      for await (const batch of walkBatchHeaders(read, batches.at(-3)!.position, { appending: true })) walked.push(batch);
      expect(walked).toEqual(batches.slice(-3, -1));
      expect(await readBatches(read, { startPosition: last.position, targetOffset: last.header.baseOffset, maxBytes: 1, appending: true })).toBeUndefined();
      const before = await readBatches(read, { startPosition: 0, targetOffset: 0n, maxBytes: bytes.length, appending: true });
      expect(before?.batches).toEqual(batches.slice(0, -1));
      expect(before?.bytes).toEqual(bytes.subarray(0, last.position));
    }
  });

  it('ends the data at a zero-filled tail (a preallocated .log) and still rejects a tail that is not all zeros', async () => {
    const segment = await largestSegment('payments-0');
    const log = await readFile(segment.log);
    const batches = await batchesOf(segment.log);
    const last = batches.at(-1)!;
    const end = last.header.lastOffset + 1n;
    for (const tail of [64 * 1024, 61, 30, 1]) {
      const read = bufferRangeReader(Buffer.concat([log, Buffer.alloc(tail)]));
      const walked: LocatedBatch[] = [];
      for await (const batch of walkBatchHeaders(read, 0)) walked.push(batch);
      expect(walked, `${tail} zeros`).toEqual(batches);
      const everything = await readBatches(read, { startPosition: 0, targetOffset: 0n, maxBytes: 2 ** 31 });
      expect(everything!.bytes.equals(log)).toBe(true);
      expect((await readBatches(read, { startPosition: last.position, targetOffset: last.header.lastOffset, maxBytes: 1 << 20 }))!.batches).toEqual([last]);
      expect(await readBatches(read, { startPosition: last.position, targetOffset: end, maxBytes: 1 })).toBeUndefined();
      // Past the end, the walk says where the data ended: its last whole batch, zeros after it or not.
      for (const from of [0, last.position]) {
        expect(await readBatchesOrEnd(read, { startPosition: from, targetOffset: end + 1000n, maxBytes: 1 })).toEqual({ pastEnd: true, lastBatch: last });
      }
      // A segment of nothing but preallocated space holds no batches.
      expect(await findBatch(bufferRangeReader(Buffer.alloc(tail)), 0, 0n)).toBeUndefined();
    }
    // One nonzero byte in the header where the data should end: not preallocated space.
    for (const at of [0, 11, 20, 60]) {
      const tail = Buffer.alloc(4096);
      tail[at] = 0x5a;
      const read = bufferRangeReader(Buffer.concat([log, tail]));
      await expect(readBatches(read, { startPosition: last.position, targetOffset: end, maxBytes: 1, source: segment.name }), `byte ${at}`).rejects.toMatchObject({
        name: 'KafkaFormatError',
        source: segment.name,
        position: log.length,
      });
    }
  });

  it('never returns bytes that rotted: a flipped byte fails the fetch unless CRC checks are off', async () => {
    const segment = await largestSegment('orders.v1-events-1');
    const batches = await batchesOf(segment.log);
    const log = Buffer.from(await readFile(segment.log));
    const victim = batches[4]!;
    log[victim.position + victim.header.sizeInBytes - 3]! ^= 0xff;
    const options = { startPosition: 0, targetOffset: batches[3]!.header.baseOffset, maxBytes: 1 << 20, source: segment.name };
    await expect(readBatches(bufferRangeReader(log), options)).rejects.toMatchObject({ code: 'CORRUPT', position: victim.position });
    const unchecked = await readBatches(bufferRangeReader(log), { ...options, verifyCrc: false });
    expect(unchecked!.batches.length).toBe(batches.length - 3);
    // The batch before the damage is served.
    expect((await readBatches(bufferRangeReader(log), { ...options, maxBytes: batches[3]!.header.sizeInBytes }))!.batches).toEqual([batches[3]]);
  });

  it('walks an empty segment to nothing and rejects a bad budget', async () => {
    const path = join(work, 'empty.log');
    await writeFile(path, '');
    const reader = await openFileRangeReader(path);
    try {
      expect(await findBatch(reader.read, 0, 0n)).toBeUndefined();
      expect(await readBatches(reader.read, { startPosition: 0, targetOffset: 0n, maxBytes: 100 })).toBeUndefined();
      expect(await readBatchesOrEnd(reader.read, { startPosition: 0, targetOffset: 0n, maxBytes: 100 })).toEqual({ pastEnd: true, lastBatch: undefined });
      await expect(readBatches(reader.read, { startPosition: 0, targetOffset: 0n, maxBytes: 0 })).rejects.toThrow('maxBytes must be a positive integer, got 0');
      await expect(reader.read(-1, 4)).rejects.toThrow('position must be a non-negative integer, got -1');
    } finally {
      await reader.close();
    }
  });
});
