import { openFileRangeReader, type ByteRangeReader } from './byte-range-reader.js';
import { truncated } from './kafka-format-error.js';
import { RecordBatchLayout, parseRecordBatchHeader, verifyRecordBatch, type RecordBatchHeader } from './record-batch.js';

/** A batch header and the byte position of its batch in the segment. */
export interface LocatedBatch {
  position: number;
  header: RecordBatchHeader;
}

export interface WalkOptions {
  /** Names the segment in error messages (a path or an object key). */
  source?: string;
  /**
   * The segment a running broker is appending to (its partition's active one). A batch cut short
   * at the end of the data is then the batch being written: the file grows as the broker's write
   * proceeds, and a reader can see part of it. The data ends before it, as a Kafka fetch, bounded
   * by the log end offset, never reaches it. Without this, such a batch is `TRUNCATED`.
   */
  appending?: boolean;
}

/**
 * Walks the batches of a `.log` from `startPosition` (a batch boundary: 0, or a position
 * from the offset index) to the end of the data, reading only each batch's 61-byte header.
 * A batch cut short at the end of the data is `TRUNCATED`, never silently dropped.
 *
 * The data also ends where a header is all zeros: the zero-filled tail of a preallocated
 * `.log` (`log.preallocate`, or a crash before the broker trimmed it). Kafka's reader finds
 * there a batch of size 0, too small to be one, and recovery truncates the log at it. Anything
 * nonzero in that header is still read as a batch, and so fails as corrupt.
 *
 * With `appending`, a batch (or a header) cut short at the end is the one being written, and
 * the data ends before it; each batch's last byte is checked before it is handed out.
 */
export async function* walkBatchHeaders(read: ByteRangeReader, startPosition: number, options: WalkOptions = {}): AsyncGenerator<LocatedBatch> {
  const { source, appending = false } = options;
  let position = startPosition;
  let previous: LocatedBatch | undefined;
  // Bounded: every batch moves `position` forward by at least the 61-byte header.
  for (;;) {
    const bytes = await read(position, RecordBatchLayout.RECORDS);
    if (bytes.length === 0) {
      if (previous !== undefined && !appending) await assertBatchEnds(read, previous, source);
      return;
    }
    if (isZeroFilled(bytes)) return;
    if (appending && bytes.length < RecordBatchLayout.RECORDS) return;
    const header = parseRecordBatchHeader(bytes, { source, position });
    previous = { position, header };
    if (appending && !(await batchEnds(read, previous))) return;
    yield previous;
    position += header.sizeInBytes;
  }
}

/** Every batch header of a local `.log`, in order, reading only the headers: a segment's offsets and batch count at a glance. */
export async function readLogBatchHeaders(path: string): Promise<LocatedBatch[]> {
  const reader = await openFileRangeReader(path);
  try {
    const batches: LocatedBatch[] = [];
    for await (const batch of walkBatchHeaders(reader.read, 0, { source: path })) batches.push(batch);
    return batches;
  } finally {
    await reader.close();
  }
}

/** A header of zeros, whole or cut by the end of the data: preallocated space, not a batch (see `walkBatchHeaders`). */
function isZeroFilled(bytes: Buffer): boolean {
  for (const byte of bytes) if (byte !== 0) return false;
  return true;
}

/** Whether the data holds `batch`'s last byte. */
async function batchEnds(read: ByteRangeReader, { position, header }: LocatedBatch): Promise<boolean> {
  return (await read(position + header.sizeInBytes - 1, 1)).length === 1;
}

/** The data ended right after `batch`'s header was read: check its last byte is there. */
async function assertBatchEnds(read: ByteRangeReader, batch: LocatedBatch, source: string | undefined): Promise<void> {
  const { position, header } = batch;
  if (await batchEnds(read, batch)) return;
  const available = (await read(position, header.sizeInBytes)).length;
  throw truncated(`record batch of offsets ${header.baseOffset}..${header.lastOffset}`, header.sizeInBytes, available, source, position);
}

/**
 * The batch a Kafka fetch for `targetOffset` starts at: walking from `startPosition`, the first
 * batch whose last offset is at or past the target (the batch holding it, or the next one
 * when the offset is gone, as Kafka's `FileRecords.searchForOffsetFromPosition` does).
 * `undefined` when every batch ends before the target.
 */
export async function findBatch(
  read: ByteRangeReader,
  startPosition: number,
  targetOffset: bigint,
  options: WalkOptions = {},
): Promise<LocatedBatch | undefined> {
  for await (const batch of walkBatchHeaders(read, startPosition, options)) {
    if (batch.header.lastOffset >= targetOffset) return batch;
  }
  return undefined;
}

export interface FetchOptions extends WalkOptions {
  /** Where to start walking: a batch boundary at or before the target's batch (an index floor entry's position). */
  startPosition: number;
  targetOffset: bigint;
  /** At most this many bytes, but always at least the first whole batch, however large. */
  maxBytes: number;
  /** Check each returned batch's CRC-32C (default true): never hand out bytes that rotted. */
  verifyCrc?: boolean;
  /**
   * Where the returned bytes go: `bytes` is then a view of its start, and nothing is allocated for
   * them. The batches are cut to fit it as to `maxBytes`; only a first batch larger than it comes
   * in a buffer of its own. On a failure its contents are unspecified.
   */
  into?: Uint8Array;
}

/** The bytes of whole record batches, as a Kafka fetch returns them. */
export interface FetchedBatches {
  /** Byte position of the first batch in the segment. */
  position: number;
  /** The batches' bytes, exactly as stored. */
  bytes: Buffer;
  batches: LocatedBatch[];
  /** The offset after the last batch returned: where the next fetch starts. */
  nextOffset: bigint;
}

/**
 * What a Kafka fetch for `targetOffset` returns from one segment: whole batches from the one
 * holding the offset, up to `maxBytes` (at least one batch). Reads the headers it walks past
 * and then the returned bytes in one range. `undefined` when the target is past the last batch.
 * Unlike Kafka, which may end a fetch inside a batch, only whole batches are returned.
 */
export async function readBatches(read: ByteRangeReader, options: FetchOptions): Promise<FetchedBatches | undefined> {
  const fetched = await readBatchesOrEnd(read, options);
  return 'pastEnd' in fetched ? undefined : fetched;
}

/**
 * A fetch whose target is past the last batch: the walk went to the end of the data, so it saw
 * where the data ends, at no extra cost.
 */
export interface PastLastBatch {
  readonly pastEnd: true;
  /** The last batch the walk went past (the data's last whole batch); undefined when none starts at or after `startPosition`. */
  readonly lastBatch: LocatedBatch | undefined;
}

/**
 * `readBatches`, saying where the data ends when the target is past its last batch (instead of
 * `undefined`): the last batch header the walk read on its way to the end of the data.
 */
export async function readBatchesOrEnd(read: ByteRangeReader, options: FetchOptions): Promise<FetchedBatches | PastLastBatch> {
  const { startPosition, targetOffset, source, appending, verifyCrc = true, into } = options;
  if (!Number.isSafeInteger(options.maxBytes) || options.maxBytes <= 0) throw new RangeError(`maxBytes must be a positive integer, got ${options.maxBytes}`);
  const maxBytes = into ? Math.min(options.maxBytes, into.byteLength) : options.maxBytes;
  const batches: LocatedBatch[] = [];
  let walked: LocatedBatch | undefined;
  let length = 0;
  for await (const batch of walkBatchHeaders(read, startPosition, { source, appending })) {
    if (batches.length === 0) {
      walked = batch;
      if (batch.header.lastOffset < targetOffset) continue;
    } else if (length + batch.header.sizeInBytes > maxBytes) {
      break;
    }
    batches.push(batch);
    length += batch.header.sizeInBytes;
  }
  const first = batches[0];
  const last = batches.at(-1);
  if (first === undefined || last === undefined) return { pastEnd: true, lastBatch: walked };
  const bytes = await read(first.position, length, into && into.byteLength >= length ? into : undefined);
  if (bytes.length < length) {
    throw truncated(`record batches from offset ${first.header.baseOffset}`, length, bytes.length, source, first.position);
  }
  if (verifyCrc) {
    for (const { position, header } of batches) {
      const at = position - first.position;
      verifyRecordBatch(bytes.subarray(at, at + header.sizeInBytes), { source, position });
    }
  }
  return { position: first.position, bytes, batches, nextOffset: last.header.lastOffset + 1n };
}
