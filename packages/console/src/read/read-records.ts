import { readFile } from 'node:fs/promises';
import { OffsetIndex, TieringError, openFileRangeReader, readBatches, type FetchedBatches, type SegmentRecord, type TieredStorage } from '@takhin/core';

export interface ReadOptions {
  /** At most this many bytes of batches (at least one whole batch is always returned). */
  readonly maxBytes: number;
}

/** The record batches a Kafka fetch at `offset` would return, and the segment they came from. */
export interface ReadResult {
  readonly segment: SegmentRecord;
  readonly fetched: FetchedBatches;
}

/**
 * Reads the batches holding `offset` and after, up to `maxBytes`: finds the segment by base
 * offset, opens it (which RESTORES it if it is archived), looks the offset up in its `.index`
 * (floor entry) and walks batch headers from there in the local `.log`.
 *
 * The one place the console reads records. When core gains `tiered.readAt(topic, partition,
 * offset, { maxBytes })` (ranged reads from the cold store, no restore), this function's body
 * becomes that call.
 */
export async function readRecordBatches(tiered: TieredStorage, topic: string, partition: number, offset: number, options: ReadOptions): Promise<ReadResult> {
  let segment = tiered.findSegment(topic, partition, offset);
  // Bounded: the first segment, then at most the next one (an offset in a gap compaction left).
  for (let attempt = 0; attempt < 2; attempt++) {
    const fetched = await readFromSegment(tiered, segment.path, offset, options.maxBytes);
    if (fetched) return { segment: fetched.segment, fetched: fetched.batches };
    const next = tiered.listSegments({ topic, partition, after: segment.path, limit: 1 })[0];
    if (next === undefined) break;
    segment = next;
  }
  throw new TieringError('OFFSET_OUT_OF_RANGE', `offset ${offset} is past the last record of ${topic}-${partition}`);
}

async function readFromSegment(tiered: TieredStorage, path: string, offset: number, maxBytes: number): Promise<{ segment: SegmentRecord; batches: FetchedBatches } | undefined> {
  const opened = await tiered.openSegment(path);
  const baseOffset = BigInt(opened.segment.baseOffset);
  const target = BigInt(Math.max(offset, opened.segment.baseOffset));
  const startPosition = opened.files.index === undefined ? 0 : OffsetIndex.parse(await readFile(opened.files.index), baseOffset, opened.files.index).lookup(target).position;
  const reader = await openFileRangeReader(opened.files.log);
  try {
    const batches = await readBatches(reader.read, { startPosition, targetOffset: target, maxBytes, source: opened.files.log });
    return batches && { segment: opened.segment, batches };
  } finally {
    await reader.close();
  }
}
