import { kafkaCrc32c } from './kafka-crc32c.js';
import { corrupt, legacyMessageSet, truncated, unsupported } from './kafka-format-error.js';

/**
 * Kafka's v2 record batch header (magic 2, Kafka 0.11+), byte positions as in Kafka's
 * `DefaultRecordBatch`. Every field is big-endian. A batch is `LOG_OVERHEAD + batchLength` bytes.
 */
export const RecordBatchLayout = {
  BASE_OFFSET: 0, // int64
  BATCH_LENGTH: 8, // int32: bytes after this field
  /** Base offset and batch length: the bytes before what `batchLength` counts. */
  LOG_OVERHEAD: 12,
  PARTITION_LEADER_EPOCH: 12, // int32
  MAGIC: 16, // int8: at the same place in v0/v1 message sets, so it tells them apart
  CRC: 17, // uint32: CRC-32C of ATTRIBUTES to the end of the batch
  ATTRIBUTES: 21, // int16
  LAST_OFFSET_DELTA: 23, // int32
  BASE_TIMESTAMP: 27, // int64
  MAX_TIMESTAMP: 35, // int64
  PRODUCER_ID: 43, // int64
  PRODUCER_EPOCH: 51, // int16
  BASE_SEQUENCE: 53, // int32
  RECORDS_COUNT: 57, // int32
  /** The header's size: the records start here. The smallest possible batch. */
  RECORDS: 61,
} as const;

export type CompressionType = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
export type TimestampType = 'CreateTime' | 'LogAppendTime';

const COMPRESSION_TYPES: readonly CompressionType[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/** Bits of the attributes field. */
export const RecordBatchAttributes = {
  COMPRESSION_MASK: 0x07,
  TIMESTAMP_TYPE: 0x08,
  TRANSACTIONAL: 0x10,
  CONTROL: 0x20,
  DELETE_HORIZON: 0x40,
} as const;

/** One v2 record batch header, with the values Kafka derives from it. */
export interface RecordBatchHeader {
  baseOffset: bigint;
  /** The int32 length field: the batch's bytes after the base offset and this field. */
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: 2;
  /** The stored CRC-32C, unsigned. */
  crc: number;
  attributes: number;
  compression: CompressionType;
  timestampType: TimestampType;
  isTransactional: boolean;
  isControl: boolean;
  /** When set, `baseTimestamp` is the delete horizon the log cleaner wrote. */
  hasDeleteHorizon: boolean;
  lastOffsetDelta: number;
  baseTimestamp: bigint;
  maxTimestamp: bigint;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  recordsCount: number;
  /** `baseOffset + lastOffsetDelta`: what an offset index entry at this batch names. */
  lastOffset: bigint;
  /** `LOG_OVERHEAD + batchLength`: the whole batch. */
  sizeInBytes: number;
}

/** Where a batch was read from, for error messages: the file or object, and the batch's byte position in it. */
export interface BatchSource {
  source?: string;
  position?: number;
}

/**
 * Parses the v2 record batch header at the start of `bytes` (at least `RECORDS` = 61 bytes;
 * the records need not be there). Throws `KafkaFormatError`: `TRUNCATED` for too few bytes,
 * `UNSUPPORTED` for v0/v1 message sets or an unknown magic, `CORRUPT` for impossible fields.
 */
export function parseRecordBatchHeader(bytes: Uint8Array, at: BatchSource = {}): RecordBatchHeader {
  const { source, position } = at;
  const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const L = RecordBatchLayout;
  if (data.length > L.MAGIC) {
    const magic = data.readInt8(L.MAGIC);
    if (magic === 0 || magic === 1) throw legacyMessageSet(magic, source, position);
    if (magic !== 2) throw unsupported('record batch', `magic ${magic} is unknown (only v2 record batches are read)`, source, position);
  }
  if (data.length < L.RECORDS) throw truncated('record batch header', L.RECORDS, data.length, source, position);
  const batchLength = data.readInt32BE(L.BATCH_LENGTH);
  const sizeInBytes = L.LOG_OVERHEAD + batchLength;
  if (sizeInBytes < L.RECORDS) {
    throw corrupt('record batch', `its length field says ${batchLength} bytes, below the ${L.RECORDS - L.LOG_OVERHEAD} a v2 header takes`, source, position);
  }
  const attributes = data.readInt16BE(L.ATTRIBUTES);
  const compression = COMPRESSION_TYPES[attributes & RecordBatchAttributes.COMPRESSION_MASK];
  if (compression === undefined) {
    throw corrupt('record batch', `compression codec ${attributes & RecordBatchAttributes.COMPRESSION_MASK} is unknown`, source, position);
  }
  const baseOffset = data.readBigInt64BE(L.BASE_OFFSET);
  const lastOffsetDelta = data.readInt32BE(L.LAST_OFFSET_DELTA);
  const recordsCount = data.readInt32BE(L.RECORDS_COUNT);
  if (baseOffset < 0n) throw corrupt('record batch', `base offset ${baseOffset} is negative`, source, position);
  if (lastOffsetDelta < 0) throw corrupt('record batch', `last offset delta ${lastOffsetDelta} is negative`, source, position);
  if (recordsCount < 0) throw corrupt('record batch', `records count ${recordsCount} is negative`, source, position);
  return {
    baseOffset,
    batchLength,
    partitionLeaderEpoch: data.readInt32BE(L.PARTITION_LEADER_EPOCH),
    magic: 2,
    crc: data.readUInt32BE(L.CRC),
    attributes,
    compression,
    timestampType: attributes & RecordBatchAttributes.TIMESTAMP_TYPE ? 'LogAppendTime' : 'CreateTime',
    isTransactional: (attributes & RecordBatchAttributes.TRANSACTIONAL) !== 0,
    isControl: (attributes & RecordBatchAttributes.CONTROL) !== 0,
    hasDeleteHorizon: (attributes & RecordBatchAttributes.DELETE_HORIZON) !== 0,
    lastOffsetDelta,
    baseTimestamp: data.readBigInt64BE(L.BASE_TIMESTAMP),
    maxTimestamp: data.readBigInt64BE(L.MAX_TIMESTAMP),
    producerId: data.readBigInt64BE(L.PRODUCER_ID),
    producerEpoch: data.readInt16BE(L.PRODUCER_EPOCH),
    baseSequence: data.readInt32BE(L.BASE_SEQUENCE),
    recordsCount,
    lastOffset: baseOffset + BigInt(lastOffsetDelta),
    sizeInBytes,
  };
}

/** The CRC-32C Kafka stores in a v2 batch: over the attributes field to the end of the batch. */
export function recordBatchCrc(batch: Uint8Array): number {
  return kafkaCrc32c(batch.subarray(RecordBatchLayout.ATTRIBUTES));
}

/**
 * Checks one whole batch (exactly its `sizeInBytes` bytes, or more: the rest is ignored)
 * against its stored CRC, as Kafka's `DefaultRecordBatch.ensureValid` does. Returns the
 * parsed header; throws `TRUNCATED` if the batch is cut short and `CORRUPT` on a mismatch.
 */
export function verifyRecordBatch(bytes: Uint8Array, at: BatchSource = {}): RecordBatchHeader {
  const header = parseRecordBatchHeader(bytes, at);
  if (bytes.byteLength < header.sizeInBytes) {
    throw truncated(`record batch of offsets ${header.baseOffset}..${header.lastOffset}`, header.sizeInBytes, bytes.byteLength, at.source, at.position);
  }
  const actual = recordBatchCrc(bytes.subarray(0, header.sizeInBytes));
  if (actual !== header.crc) {
    throw corrupt(
      `record batch of offsets ${header.baseOffset}..${header.lastOffset}`,
      `CRC-32C mismatch: the header says ${hex(header.crc)}, the bytes give ${hex(actual)}`,
      at.source,
      at.position,
    );
  }
  return header;
}

const hex = (value: number) => `0x${value.toString(16).padStart(8, '0')}`;
