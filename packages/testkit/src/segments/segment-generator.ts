import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { patternedChunks } from '../bodies/patterned-body.js';

/** The three files of one log segment, as paths on disk. */
export interface GeneratedSegment {
  /** `<topic>-<partition>/<20-digit base offset>.log`, relative to the data dir. */
  segmentPath: string;
  files: { log: string; index: string; timeindex: string };
  baseOffset: bigint;
  records: number;
}

export interface SegmentSpec {
  topic: string;
  partition: number;
  baseOffset: bigint;
  /** Approximate `.log` size; records are written until it is reached. */
  logBytes: number;
  /** Bytes of payload per record. */
  recordBytes?: number;
  /** One index entry per this many log bytes (Kafka's `index.interval.bytes`). */
  indexIntervalBytes?: number;
  /** Timestamp of the first record, in ms. */
  firstTimestampMs?: number;
}

/** The 20-digit, zero-padded file name Kafka gives a segment with this base offset. */
export function segmentFileName(baseOffset: bigint, extension: 'log' | 'index' | 'timeindex'): string {
  return `${baseOffset.toString().padStart(20, '0')}.${extension}`;
}

/**
 * Writes a Kafka-shaped segment under `dataDir`: a `.log` of length-prefixed records with
 * offsets and timestamps (patterned payloads, so content is deterministic), a sparse `.index`
 * (relative offset → file position, 8 bytes an entry) and a `.timeindex` (timestamp → relative
 * offset, 12 bytes an entry). Streams to disk: size is not bounded by memory.
 */
export async function writeSegment(dataDir: string, spec: SegmentSpec): Promise<GeneratedSegment> {
  const recordBytes = spec.recordBytes ?? 1000;
  const indexInterval = spec.indexIntervalBytes ?? 4096;
  const firstTimestamp = BigInt(spec.firstTimestampMs ?? Date.UTC(2026, 0, 1));
  const dir = join(dataDir, `${spec.topic}-${spec.partition}`);
  await mkdir(dir, { recursive: true });
  const files = {
    log: join(dir, segmentFileName(spec.baseOffset, 'log')),
    index: join(dir, segmentFileName(spec.baseOffset, 'index')),
    timeindex: join(dir, segmentFileName(spec.baseOffset, 'timeindex')),
  };
  const [log, index, timeindex] = await Promise.all([open(files.log, 'w'), open(files.index, 'w'), open(files.timeindex, 'w')]);
  try {
    const payloads = patternedChunks(Number.MAX_SAFE_INTEGER, Number(spec.baseOffset % 0xffffffffn) + spec.partition + 1, recordBytes);
    let position = 0;
    let sinceIndex = indexInterval;
    let records = 0;
    while (position < spec.logBytes) {
      const payload = payloads.next().value as Buffer;
      const header = Buffer.alloc(20);
      header.writeBigInt64BE(spec.baseOffset + BigInt(records), 0); // offset
      header.writeInt32BE(payload.length + 8, 8); // length of what follows the length field
      header.writeBigInt64BE(firstTimestamp + BigInt(records), 12); // timestamp
      if (sinceIndex >= indexInterval) {
        const entry = Buffer.alloc(8);
        entry.writeInt32BE(records, 0);
        entry.writeInt32BE(position, 4);
        await index.write(entry);
        const timeEntry = Buffer.alloc(12);
        timeEntry.writeBigInt64BE(firstTimestamp + BigInt(records), 0);
        timeEntry.writeInt32BE(records, 8);
        await timeindex.write(timeEntry);
        sinceIndex = 0;
      }
      await log.writev([header, payload]);
      position += header.length + payload.length;
      sinceIndex += header.length + payload.length;
      records++;
    }
    await Promise.all([log.sync(), index.sync(), timeindex.sync()]);
    return {
      segmentPath: `${spec.topic}-${spec.partition}/${segmentFileName(spec.baseOffset, 'log')}`,
      files,
      baseOffset: spec.baseOffset,
      records,
    };
  } finally {
    await Promise.all([log.close(), index.close(), timeindex.close()]);
  }
}
