import { corrupt, truncated, unsupported } from './kafka-format-error.js';
import { RecordBatchLayout, parseRecordBatchHeader, type BatchSource } from './record-batch.js';

/** A record header: a UTF-8 key and a value that may be null. */
export interface KafkaRecordHeader {
  key: string;
  value: Buffer | null;
}

/** One record of a v2 batch, with its absolute offset and timestamp. */
export interface KafkaRecord {
  offset: bigint;
  timestamp: bigint;
  attributes: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: KafkaRecordHeader[];
}

/**
 * Decodes the records of one uncompressed v2 batch (Kafka's `DefaultRecord`: a zigzag varint
 * length, attributes, varlong timestamp delta, varint offset delta, key, value and headers,
 * each length a zigzag varint and -1 for null). Compressed batches are `UNSUPPORTED`: their
 * bytes are served as stored and never need decoding here.
 */
export function decodeRecords(batch: Uint8Array, at: BatchSource = {}): KafkaRecord[] {
  const { source, position } = at;
  const header = parseRecordBatchHeader(batch, at);
  const what = `record batch of offsets ${header.baseOffset}..${header.lastOffset}`;
  if (batch.byteLength < header.sizeInBytes) throw truncated(what, header.sizeInBytes, batch.byteLength, source, position);
  if (header.compression !== 'none') throw unsupported(what, `its records are ${header.compression}-compressed; only uncompressed records are decoded`, source, position);
  const reader = new VarintReader(Buffer.from(batch.buffer, batch.byteOffset, header.sizeInBytes), RecordBatchLayout.RECORDS, (detail) =>
    corrupt(what, detail, source, position),
  );
  const records: KafkaRecord[] = [];
  for (let i = 0; i < header.recordsCount; i++) {
    const length = reader.varint();
    const start = reader.at;
    if (length < 0 || start + length > header.sizeInBytes) throw reader.fail(`record ${i} claims ${length} bytes`);
    const attributes = reader.int8();
    const timestampDelta = reader.varlong();
    const offsetDelta = reader.varint();
    const key = reader.bytes();
    const value = reader.bytes();
    const headerCount = reader.varint();
    if (headerCount < 0) throw reader.fail(`record ${i} has ${headerCount} headers`);
    const headers: KafkaRecordHeader[] = [];
    for (let h = 0; h < headerCount; h++) {
      const headerKey = reader.bytes();
      if (headerKey === null) throw reader.fail(`record ${i} has a header with a null key`);
      headers.push({ key: headerKey.toString('utf8'), value: reader.bytes() });
    }
    if (reader.at - start !== length) throw reader.fail(`record ${i} claims ${length} bytes but holds ${reader.at - start}`);
    records.push({
      offset: header.baseOffset + BigInt(offsetDelta),
      // With LogAppendTime the broker's time, stored once as the batch's max timestamp, is every record's.
      timestamp: header.timestampType === 'LogAppendTime' ? header.maxTimestamp : header.baseTimestamp + timestampDelta,
      attributes,
      key,
      value,
      headers,
    });
  }
  if (reader.at !== header.sizeInBytes) throw reader.fail(`${header.sizeInBytes - reader.at} bytes follow the last of its ${header.recordsCount} records`);
  return records;
}

/** Reads Kafka's zigzag varints (`ByteUtils.readVarint`, `readVarlong`) from a bounded buffer. */
class VarintReader {
  constructor(
    private readonly data: Buffer,
    public at: number,
    readonly fail: (detail: string) => Error,
  ) {}

  int8(): number {
    if (this.at >= this.data.length) throw this.fail('a record runs past the end of the batch');
    return this.data.readInt8(this.at++);
  }

  varint(): number {
    const value = this.#unsigned(5);
    return Number((value >> 1n) ^ -(value & 1n));
  }

  varlong(): bigint {
    const value = this.#unsigned(10);
    return BigInt.asIntN(64, (value >> 1n) ^ -(value & 1n));
  }

  /** A varint length then that many bytes; -1 is null. */
  bytes(): Buffer | null {
    const length = this.varint();
    if (length === -1) return null;
    if (length < 0 || this.at + length > this.data.length) throw this.fail(`a field of ${length} bytes runs past the end of the batch`);
    const bytes = Buffer.from(this.data.subarray(this.at, this.at + length));
    this.at += length;
    return bytes;
  }

  #unsigned(maxBytes: number): bigint {
    let value = 0n;
    for (let i = 0; i < maxBytes; i++) {
      if (this.at >= this.data.length) throw this.fail('a varint runs past the end of the batch');
      const byte = this.data[this.at++]!;
      value |= BigInt(byte & 0x7f) << BigInt(7 * i);
      if ((byte & 0x80) === 0) return value;
    }
    throw this.fail(`a varint is longer than ${maxBytes} bytes`);
  }
}
