import { mkdir, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import {
  OFFSET_INDEX_ENTRY_SIZE,
  TIME_INDEX_ENTRY_SIZE,
  TRANSACTION_INDEX_ENTRY_SIZE,
  formatPartitionDirName,
  formatSegmentFileName,
  type AbortedTransaction,
  type ProducerSnapshotEntry,
  type SegmentFileExtension,
} from '@takhin/core';
import { patternedBytes } from '../bodies/patterned-body.js';
import { BufferedFileWriter } from './buffered-file-writer.js';
import { encodeRecordBatch, type EncodableBatch, type EncodableRecord } from './record-batch-encoder.js';
import { SegmentIndexer } from './segment-indexer.js';
import { TRANSACTIONAL_ATTRIBUTES, endTransactionMarker } from './transaction-markers.js';

/** The files of one generated log segment, as paths on disk. */
export interface GeneratedSegment {
  /** `<folder>/<20-digit base offset>.log`, relative to the data dir (the folder is `<topic>-<partition>` unless `spec.directory` names another). */
  segmentPath: string;
  /** `txnindex` only when a transaction was aborted in the segment, as Kafka creates it. */
  files: { log: string; index: string; timeindex: string; txnindex?: string };
  baseOffset: bigint;
  /** Records written, data and control (one per offset): `nextOffset - baseOffset`. */
  records: number;
  /** Offset of the last record; `baseOffset - 1n` for an empty segment. */
  lastOffset: bigint;
  /** The next segment's base offset. */
  nextOffset: bigint;
  /** Record batches written, control batches included. */
  batches: number;
  /** Bytes of the `.log`. */
  logBytes: number;
  indexEntries: number;
  timeIndexEntries: number;
  /** Timestamp of the last record, or `firstTimestampMs - timestampStepMs` for an empty segment. */
  lastTimestampMs: number;
  abortedTransactions: AbortedTransaction[];
  /** The producer's state after this segment, as a `.snapshot` at `nextOffset` records it; undefined without a producer id. */
  producerState?: ProducerSnapshotEntry;
  /** Where the producer's sequence continues in the next segment. */
  nextSequence: number;
  /** True when written as a running broker's active segment (indexes preallocated). */
  active: boolean;
}

export interface SegmentSpec {
  topic: string;
  partition: number;
  baseOffset: bigint;
  /** Approximate `.log` size: batches are appended until it is reached (then an open transaction is ended). */
  logBytes: number;
  /** Bytes of each record's value (default 1000). */
  recordBytes?: number;
  /** Records a batch (default: as many as fit Kafka's default 16 KiB producer batch, at least 1). */
  recordsPerBatch?: number;
  /** An index entry after at least this many log bytes (Kafka's `index.interval.bytes`, default 4096). */
  indexIntervalBytes?: number;
  /** Timestamp of the first record, in ms (default 2026-01-01T00:00:00Z). */
  firstTimestampMs?: number;
  /** Milliseconds between consecutive offsets (default 1). */
  timestampStepMs?: number;
  /**
   * The producer: idempotent by default (producer id 0, epoch 0, sequences from 0), as Kafka 3+
   * clients are; `null` for a producer without an id (producer id, epoch and sequence -1).
   */
  producer?: { producerId?: bigint; producerEpoch?: number; firstSequence?: number } | null;
  /** Written into every batch (default 0). */
  partitionLeaderEpoch?: number;
  /**
   * Write transactions: `batchesPerTransaction` data batches, then a COMMIT or ABORT marker;
   * every `abortEvery`-th transaction is aborted (never if unset) and listed in a `.txnindex`.
   */
  transactions?: { batchesPerTransaction: number; abortEvery?: number; coordinatorEpoch?: number };
  /**
   * Write a running broker's active segment: `.index` and `.timeindex` preallocated with zeros
   * to this size (Kafka's `segment.index.bytes`, 10 MiB by default; the time index is rounded
   * down to whole 12-byte entries), without the time index entry a rolled segment gets.
   */
  preallocateIndexBytes?: number;
  /**
   * Add the time index entry for the segment's largest timestamp, as Kafka does when a segment
   * rolls or the broker shuts down cleanly (default: unless `preallocateIndexBytes` is set).
   */
  lastTimestampIndexed?: boolean;
  /** Modification time of the segment's files (default: when written). */
  mtime?: Date;
  /** The folder under the data dir (default `<topic>-<partition>`), e.g. a `-delete` or `-future` folder. */
  directory?: string;
}

/** Kafka's default producer `batch.size`. */
const PRODUCER_BATCH_BYTES = 16 * 1024;
/** Bytes a record adds beyond its value, at most: key, one header, attributes and six varints. */
const RECORD_OVERHEAD_BOUND = 96;
const LOG_WRITE_BUFFER = 1024 * 1024;
const INDEX_WRITE_BUFFER = 64 * 1024;

/** Kafka's 20-digit, zero-padded name of a segment file with this base offset. */
export function segmentFileName(baseOffset: bigint, extension: SegmentFileExtension): string {
  return formatSegmentFileName(baseOffset, extension);
}

/**
 * Writes one Kafka log segment under `dataDir`, byte for byte as a Kafka broker would: a `.log`
 * of uncompressed v2 record batches (several records each: key, patterned value, a header;
 * CRC-32C), a sparse `.index` and a `.timeindex` decided as Kafka's `LogSegment.append` decides
 * them, and a `.txnindex` where transactions were aborted. Streams to disk in 1 MiB writes: any
 * size, bounded memory.
 */
export async function writeSegment(dataDir: string, spec: SegmentSpec): Promise<GeneratedSegment> {
  const options = resolveSpec(spec);
  const folder = spec.directory ?? formatPartitionDirName(spec.topic, spec.partition);
  const dir = join(dataDir, folder);
  await mkdir(dir, { recursive: true });
  const path = (extension: SegmentFileExtension) => join(dir, formatSegmentFileName(spec.baseOffset, extension));
  const files: GeneratedSegment['files'] = { log: path('log'), index: path('index'), timeindex: path('timeindex') };

  const batchBound = 61 + options.recordsPerBatch * (options.recordBytes + RECORD_OVERHEAD_BOUND);
  const writers = await openWriters(files, Math.max(LOG_WRITE_BUFFER, batchBound));
  let txnWriter: BufferedFileWriter | undefined;
  try {
    const state = new SegmentState(spec, options);
    const indexer = new SegmentIndexer(spec.baseOffset, options.indexIntervalBytes);
    const append = async (batch: EncodableBatch, recordsBound: number) => {
      await writers.log.ensureRoom(recordsBound);
      const position = writers.log.position;
      const size = encodeRecordBatch(batch, writers.log.buffer, writers.log.filled);
      writers.log.advance(size);
      const lastOffset = batch.baseOffset + BigInt(batch.lastOffsetDelta);
      const entries = indexer.append({ position, lastOffset, maxTimestamp: batch.maxTimestamp, sizeInBytes: size });
      if (entries.offsetEntry) await writers.index.append(entries.offsetEntry);
      if (entries.timeEntry) await writers.timeindex.append(entries.timeEntry);
      state.batches++;
    };

    // Bounded: every batch adds at least its 61-byte header.
    while (writers.log.position < spec.logBytes) {
      await append(state.nextDataBatch(), batchBound);
      const marker = state.transactionEnds(writers.log.position >= spec.logBytes);
      if (marker === undefined) continue;
      await append(marker.batch, 256);
      if (marker.aborted) {
        files.txnindex ??= path('txnindex');
        txnWriter ??= await BufferedFileWriter.create(files.txnindex, INDEX_WRITE_BUFFER);
        await txnWriter.append(encodeAbortedTransaction(marker.aborted));
      }
    }
    const active = options.preallocateIndexBytes !== undefined;
    if (spec.lastTimestampIndexed ?? !active) {
      const last = indexer.close();
      if (last) await writers.timeindex.append(last);
    }
    const indexEntries = writers.index.position / OFFSET_INDEX_ENTRY_SIZE;
    const timeIndexEntries = writers.timeindex.position / TIME_INDEX_ENTRY_SIZE;
    const logBytes = writers.log.position;
    const preallocate = options.preallocateIndexBytes;
    await Promise.all([
      writers.log.close(),
      writers.index.close(preallocate === undefined ? {} : { extendTo: roundDown(preallocate, OFFSET_INDEX_ENTRY_SIZE) }),
      writers.timeindex.close(preallocate === undefined ? {} : { extendTo: roundDown(preallocate, TIME_INDEX_ENTRY_SIZE) }),
      txnWriter?.close(),
    ]);
    if (spec.mtime) {
      for (const file of Object.values(files)) await utimes(file, spec.mtime, spec.mtime);
    }
    return {
      segmentPath: `${folder}/${formatSegmentFileName(spec.baseOffset, 'log')}`,
      files,
      baseOffset: spec.baseOffset,
      records: Number(state.nextOffset - spec.baseOffset),
      lastOffset: state.nextOffset - 1n,
      nextOffset: state.nextOffset,
      batches: state.batches,
      logBytes,
      indexEntries,
      timeIndexEntries,
      lastTimestampMs: state.timestampOf(state.nextOffset - 1n),
      abortedTransactions: state.aborted,
      ...(state.producerState ? { producerState: state.producerState } : {}),
      nextSequence: state.nextSequence,
      active,
    };
  } catch (error) {
    await Promise.all([writers.log.abandon(), writers.index.abandon(), writers.timeindex.abandon(), txnWriter?.abandon()]);
    throw error;
  }
}

type ResolvedSpec = Required<Pick<SegmentSpec, 'recordBytes' | 'recordsPerBatch' | 'indexIntervalBytes' | 'firstTimestampMs' | 'timestampStepMs' | 'partitionLeaderEpoch'>> &
  Pick<SegmentSpec, 'preallocateIndexBytes' | 'transactions'>;

/** Fills in defaults and rejects a spec no Kafka broker could have written, naming the field. */
function resolveSpec(spec: SegmentSpec): ResolvedSpec {
  const recordBytes = spec.recordBytes ?? 1000;
  const resolved: ResolvedSpec = {
    recordBytes,
    recordsPerBatch: spec.recordsPerBatch ?? Math.max(1, Math.floor(PRODUCER_BATCH_BYTES / recordBytes)),
    indexIntervalBytes: spec.indexIntervalBytes ?? 4096,
    firstTimestampMs: spec.firstTimestampMs ?? Date.UTC(2026, 0, 1),
    timestampStepMs: spec.timestampStepMs ?? 1,
    partitionLeaderEpoch: spec.partitionLeaderEpoch ?? 0,
    preallocateIndexBytes: spec.preallocateIndexBytes,
    transactions: spec.transactions,
  };
  const check = (field: string, ok: boolean, expected: string, value: unknown) => {
    if (!ok) throw new RangeError(`segment spec: ${field} must be ${expected}, got ${String(value)}`);
  };
  check('baseOffset', typeof spec.baseOffset === 'bigint' && spec.baseOffset >= 0n, 'a non-negative bigint', spec.baseOffset);
  check('logBytes', Number.isSafeInteger(spec.logBytes) && spec.logBytes >= 0 && spec.logBytes < 2 ** 31, 'an integer from 0 to 2 GiB (Kafka positions are int32)', spec.logBytes);
  check('recordBytes', Number.isSafeInteger(recordBytes) && recordBytes >= 0 && recordBytes <= 64 * 1024 * 1024, 'an integer from 0 to 64 MiB', recordBytes);
  check('recordsPerBatch', Number.isSafeInteger(resolved.recordsPerBatch) && resolved.recordsPerBatch >= 1, 'a positive integer', resolved.recordsPerBatch);
  check('indexIntervalBytes', Number.isSafeInteger(resolved.indexIntervalBytes) && resolved.indexIntervalBytes >= 0, 'a non-negative integer', resolved.indexIntervalBytes);
  check('firstTimestampMs', Number.isSafeInteger(resolved.firstTimestampMs) && resolved.firstTimestampMs >= 0, 'a non-negative integer', resolved.firstTimestampMs);
  check('timestampStepMs', Number.isSafeInteger(resolved.timestampStepMs) && resolved.timestampStepMs >= 0, 'a non-negative integer', resolved.timestampStepMs);
  if (spec.preallocateIndexBytes !== undefined) {
    check('preallocateIndexBytes', Number.isSafeInteger(spec.preallocateIndexBytes) && spec.preallocateIndexBytes >= 12, 'an integer of at least 12', spec.preallocateIndexBytes);
  }
  if (spec.transactions) {
    const { batchesPerTransaction, abortEvery } = spec.transactions;
    check('transactions.batchesPerTransaction', Number.isSafeInteger(batchesPerTransaction) && batchesPerTransaction >= 1, 'a positive integer', batchesPerTransaction);
    if (abortEvery !== undefined) check('transactions.abortEvery', Number.isSafeInteger(abortEvery) && abortEvery >= 1, 'a positive integer', abortEvery);
    check('producer', spec.producer !== null, 'a producer with an id for transactions', spec.producer);
  }
  return resolved;
}

/** Offsets, sequences, timestamps and open transaction of the segment being written. */
class SegmentState {
  nextOffset: bigint;
  nextSequence: number;
  batches = 0;
  aborted: AbortedTransaction[] = [];
  producerState: ProducerSnapshotEntry | undefined;
  readonly #producerId: bigint;
  readonly #producerEpoch: number;
  readonly #values: Buffer;
  #transactionFirstOffset: bigint | undefined;
  #batchesInTransaction = 0;
  #transactions = 0;

  constructor(
    private readonly spec: SegmentSpec,
    private readonly options: ResolvedSpec,
  ) {
    this.nextOffset = spec.baseOffset;
    this.#producerId = spec.producer === null ? -1n : (spec.producer?.producerId ?? 0n);
    this.#producerEpoch = spec.producer === null ? -1 : (spec.producer?.producerEpoch ?? 0);
    this.nextSequence = spec.producer === null ? -1 : (spec.producer?.firstSequence ?? 0);
    // Values are slices of one patterned block: deterministic, varied, and no per-record PRNG.
    this.#values = patternedBytes(Math.max(256 * 1024, options.recordBytes * 4), Number(spec.baseOffset % 65_521n) + spec.partition + 1);
  }

  timestampOf(offset: bigint): number {
    return this.options.firstTimestampMs + Number(offset - this.spec.baseOffset) * this.options.timestampStepMs;
  }

  nextDataBatch(): EncodableBatch {
    const { recordsPerBatch, recordBytes } = this.options;
    const baseOffset = this.nextOffset;
    if (this.options.transactions && this.#transactionFirstOffset === undefined) {
      this.#transactionFirstOffset = baseOffset;
      this.#batchesInTransaction = 0;
    }
    const records: EncodableRecord[] = [];
    const spread = this.#values.length - recordBytes + 1;
    for (let i = 0; i < recordsPerBatch; i++) {
      const offset = baseOffset + BigInt(i);
      const start = Number((offset * 4099n) % BigInt(spread));
      records.push({
        offsetDelta: i,
        timestampDelta: i * this.options.timestampStepMs,
        key: Buffer.from(`key-${offset % 1000n}`),
        value: this.#values.subarray(start, start + recordBytes),
        headers: [{ key: 'trace-id', value: Buffer.from(`t-${offset}`) }],
      });
    }
    const baseSequence = this.nextSequence;
    if (baseSequence >= 0) this.nextSequence = (baseSequence + recordsPerBatch) % 2 ** 31; // Kafka wraps sequences at Int.MAX
    this.nextOffset = baseOffset + BigInt(recordsPerBatch);
    this.#batchesInTransaction++;
    const batch: EncodableBatch = {
      baseOffset,
      partitionLeaderEpoch: this.options.partitionLeaderEpoch,
      attributes: this.options.transactions ? TRANSACTIONAL_ATTRIBUTES : 0,
      lastOffsetDelta: recordsPerBatch - 1,
      baseTimestamp: BigInt(this.timestampOf(baseOffset)),
      maxTimestamp: BigInt(this.timestampOf(this.nextOffset - 1n)),
      producerId: this.#producerId,
      producerEpoch: this.#producerEpoch,
      baseSequence,
      records,
    };
    if (this.#producerId >= 0n) {
      this.producerState = {
        producerId: this.#producerId,
        producerEpoch: this.#producerEpoch,
        lastSequence: (baseSequence + recordsPerBatch - 1) % 2 ** 31,
        lastOffset: this.nextOffset - 1n,
        offsetDelta: recordsPerBatch - 1,
        timestamp: batch.maxTimestamp,
        coordinatorEpoch: this.producerState?.coordinatorEpoch ?? -1,
        currentTxnFirstOffset: this.#transactionFirstOffset ?? -1n,
      };
    }
    return batch;
  }

  /** The marker ending the open transaction, when it is due (or `last`, so no segment ends inside one). */
  transactionEnds(last: boolean): { batch: EncodableBatch; aborted?: AbortedTransaction } | undefined {
    const transactions = this.options.transactions;
    const first = this.#transactionFirstOffset;
    if (!transactions || first === undefined) return undefined;
    if (!last && this.#batchesInTransaction < transactions.batchesPerTransaction) return undefined;
    this.#transactions++;
    const abort = transactions.abortEvery !== undefined && this.#transactions % transactions.abortEvery === 0;
    const offset = this.nextOffset;
    const coordinatorEpoch = transactions.coordinatorEpoch ?? 0;
    const batch = endTransactionMarker({
      offset,
      timestamp: BigInt(this.timestampOf(offset)),
      outcome: abort ? 'abort' : 'commit',
      producerId: this.#producerId,
      producerEpoch: this.#producerEpoch,
      coordinatorEpoch,
      partitionLeaderEpoch: this.options.partitionLeaderEpoch,
    });
    this.nextOffset = offset + 1n;
    this.#transactionFirstOffset = undefined;
    if (this.producerState) {
      this.producerState = { ...this.producerState, timestamp: batch.maxTimestamp, coordinatorEpoch, currentTxnFirstOffset: -1n };
    }
    if (!abort) return { batch };
    // One producer, so nothing else is open: the last stable offset is right after the marker.
    const aborted: AbortedTransaction = { version: 0, producerId: this.#producerId, firstOffset: first, lastOffset: offset, lastStableOffset: offset + 1n };
    this.aborted.push(aborted);
    return { batch, aborted };
  }
}

async function openWriters(files: GeneratedSegment['files'], logBuffer: number) {
  const log = await BufferedFileWriter.create(files.log, logBuffer);
  const index = await BufferedFileWriter.create(files.index, INDEX_WRITE_BUFFER).catch(async (error: unknown) => {
    await log.abandon();
    throw error;
  });
  const timeindex = await BufferedFileWriter.create(files.timeindex, INDEX_WRITE_BUFFER).catch(async (error: unknown) => {
    await Promise.all([log.abandon(), index.abandon()]);
    throw error;
  });
  return { log, index, timeindex };
}

function encodeAbortedTransaction(entry: AbortedTransaction): Buffer {
  const bytes = Buffer.alloc(TRANSACTION_INDEX_ENTRY_SIZE);
  bytes.writeInt16BE(entry.version, 0);
  bytes.writeBigInt64BE(entry.producerId, 2);
  bytes.writeBigInt64BE(entry.firstOffset, 10);
  bytes.writeBigInt64BE(entry.lastOffset, 18);
  bytes.writeBigInt64BE(entry.lastStableOffset, 26);
  return bytes;
}

const roundDown = (value: number, multiple: number) => value - (value % multiple);
