import { RecordBatchLayout as L, recordBatchCrc, type RecordBatchHeader } from '@takhin/core';
import { varintSize, writeVarint } from './varint.js';

/** A record to encode: deltas from the batch's base offset and base timestamp. */
export interface EncodableRecord {
  offsetDelta: number;
  timestampDelta: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers?: ReadonlyArray<{ key: string; value: Uint8Array | null }>;
}

/** Every field of a v2 batch header that is not derived from the records or the CRC, and the records. */
export interface EncodableBatch
  extends Pick<
    RecordBatchHeader,
    'baseOffset' | 'partitionLeaderEpoch' | 'attributes' | 'lastOffsetDelta' | 'baseTimestamp' | 'maxTimestamp' | 'producerId' | 'producerEpoch' | 'baseSequence'
  > {
  records: readonly EncodableRecord[];
}

/** Bytes of one record after its length prefix (Kafka's `DefaultRecord.sizeOfBodyInBytes`). */
function recordBodySize(record: EncodableRecord): number {
  let size = 1 + varintSize(record.timestampDelta) + varintSize(record.offsetDelta);
  size += fieldSize(record.key) + fieldSize(record.value);
  const headers = record.headers ?? [];
  size += varintSize(headers.length);
  for (const header of headers) {
    const keyLength = Buffer.byteLength(header.key, 'utf8');
    size += varintSize(keyLength) + keyLength + fieldSize(header.value);
  }
  return size;
}

const fieldSize = (field: Uint8Array | null) => (field === null ? varintSize(-1) : varintSize(field.byteLength) + field.byteLength);

/** The size of `batch` once encoded. */
export function encodedBatchSize(batch: EncodableBatch): number {
  let size = L.RECORDS;
  for (const record of batch.records) {
    const body = recordBodySize(record);
    size += varintSize(body) + body;
  }
  return size;
}

/**
 * Encodes `batch` as Kafka's v2 record batch (uncompressed) into `target` at `at`, CRC-32C
 * included, exactly as Kafka's `MemoryRecordsBuilder` lays it out. Returns the batch's size.
 */
export function encodeRecordBatch(batch: EncodableBatch, target: Buffer, at: number): number {
  let position = at + L.RECORDS;
  for (const record of batch.records) {
    position = writeVarint(target, position, recordBodySize(record));
    target[position++] = 0; // record attributes: unused, always 0
    position = writeVarint(target, position, record.timestampDelta);
    position = writeVarint(target, position, record.offsetDelta);
    position = writeField(target, position, record.key);
    position = writeField(target, position, record.value);
    const headers = record.headers ?? [];
    position = writeVarint(target, position, headers.length);
    for (const header of headers) {
      position = writeVarint(target, position, Buffer.byteLength(header.key, 'utf8'));
      position += target.write(header.key, position, 'utf8');
      position = writeField(target, position, header.value);
    }
  }
  const size = position - at;
  target.writeBigInt64BE(batch.baseOffset, at + L.BASE_OFFSET);
  target.writeInt32BE(size - L.LOG_OVERHEAD, at + L.BATCH_LENGTH);
  target.writeInt32BE(batch.partitionLeaderEpoch, at + L.PARTITION_LEADER_EPOCH);
  target.writeInt8(2, at + L.MAGIC);
  target.writeInt16BE(batch.attributes, at + L.ATTRIBUTES);
  target.writeInt32BE(batch.lastOffsetDelta, at + L.LAST_OFFSET_DELTA);
  target.writeBigInt64BE(batch.baseTimestamp, at + L.BASE_TIMESTAMP);
  target.writeBigInt64BE(batch.maxTimestamp, at + L.MAX_TIMESTAMP);
  target.writeBigInt64BE(batch.producerId, at + L.PRODUCER_ID);
  target.writeInt16BE(batch.producerEpoch, at + L.PRODUCER_EPOCH);
  target.writeInt32BE(batch.baseSequence, at + L.BASE_SEQUENCE);
  target.writeInt32BE(batch.records.length, at + L.RECORDS_COUNT);
  target.writeUInt32BE(recordBatchCrc(target.subarray(at, position)), at + L.CRC);
  return size;
}

function writeField(target: Buffer, position: number, field: Uint8Array | null): number {
  if (field === null) return writeVarint(target, position, -1);
  position = writeVarint(target, position, field.byteLength);
  target.set(field, position);
  return position + field.byteLength;
}
