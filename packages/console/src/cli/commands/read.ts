import { decodeRecords, MAX_READ_BYTES, TieringError, type KafkaRecord } from '@takhin/core';
import { readRecordBatches } from '../../read/read-records.js';
import type { Command } from '../command-context.js';
import { withDataDir } from '../command-context.js';
import { EXIT, UsageError } from '../exit-codes.js';
import { printable } from '../human-format.js';

const DEFAULT_MAX_BYTES = 1024 * 1024;
/** The most `--max-bytes` takes is the most one read returns (the batches are held in memory, decoded and printed whole). */
export { MAX_READ_BYTES };

/**
 * `read <topic> <partition> <offset> [--max-bytes N]`: the records a Kafka fetch at that offset
 * returns. An archived segment is read in verified chunks, never restored (see `readRecordBatches`).
 */
export const readCommand: Command = (context) => {
  const [topic, partitionText, offsetText, ...extra] = context.positionals;
  if (topic === undefined || partitionText === undefined || offsetText === undefined || extra.length > 0) {
    throw new UsageError('read takes <topic> <partition> <offset>');
  }
  const partition = wholeNumber(partitionText, 'partition', 'UNKNOWN_PARTITION');
  const offset = wholeNumber(offsetText, 'offset', 'OFFSET_OUT_OF_RANGE');
  const maxBytes = context.options.maxBytes === undefined ? DEFAULT_MAX_BYTES : maxBytesOption(context.options.maxBytes);
  return withDataDir(context, async (tiered) => {
    const fetched = await readRecordBatches(tiered, topic, partition, offset, { maxBytes });
    const batches = fetched.batches.map(({ position, header }) => {
      const at = position - fetched.position;
      const bytes = fetched.bytes.subarray(at, at + header.sizeInBytes);
      const records = header.compression === 'none' ? decodeRecords(bytes, { position }).filter((record) => record.offset >= BigInt(offset)) : null;
      return { base_offset: header.baseOffset.toString(), last_offset: header.lastOffset.toString(), position, size: header.sizeInBytes, compression: header.compression, records };
    });
    const { output } = context;
    output.document({
      topic,
      partition,
      offset,
      segment_path: fetched.segmentPath,
      source: fetched.source,
      next_offset: String(fetched.nextOffset),
      batches: batches.map((batch) => ({ ...batch, records: batch.records?.map(recordJson) ?? null })),
      // What a read_committed consumer drops: these producers' records from these offsets on, up to their ABORT markers.
      aborted_transactions: fetched.abortedTransactions.map((t) => ({ producer_id: t.producerId.toString(), first_offset: t.firstOffset.toString() })),
    });
    for (const batch of batches) {
      if (batch.records === null) {
        output.line(`batch ${batch.base_offset}..${batch.last_offset}: ${batch.compression}-compressed, ${batch.size} bytes (records not decoded)`);
        continue;
      }
      for (const record of batch.records) {
        const json = recordJson(record);
        output.line(`${json.offset}  ${json.timestamp}  key=${show(json.key, json.key_encoding)}  value=${show(json.value, json.value_encoding)}`);
      }
    }
    for (const t of fetched.abortedTransactions) output.line(`aborted transaction: producer ${t.producerId}, from offset ${t.firstOffset} (a read_committed consumer drops its records)`);
    output.line(`next offset ${fetched.nextOffset} (from ${fetched.segmentPath}, ${fetched.source === 'remote' ? 'read from the cold store, not restored' : 'local'})`);
    return EXIT.OK;
  });
};

/** A record as JSON: key and value as text when they are UTF-8, else base64, saying which. */
function recordJson(record: KafkaRecord) {
  const key = encode(record.key);
  const value = encode(record.value);
  return {
    offset: record.offset.toString(),
    timestamp: new Date(Number(record.timestamp)).toISOString(),
    key: key.text,
    key_encoding: key.encoding,
    value: value.text,
    value_encoding: value.encoding,
    headers: record.headers.map((header) => ({ key: header.key, ...(({ text, encoding }) => ({ value: text, value_encoding: encoding }))(encode(header.value)) })),
  };
}

function encode(bytes: Buffer | null): { text: string | null; encoding: 'utf8' | 'base64' | null } {
  if (bytes === null) return { text: null, encoding: null };
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes), encoding: 'utf8' };
  } catch {
    return { text: bytes.toString('base64'), encoding: 'base64' };
  }
}

function show(text: string | null, encoding: string | null): string {
  if (text === null) return 'null';
  const shown = printable(text.length > 120 ? `${text.slice(0, 120)}…` : text);
  return encoding === 'base64' ? `base64:${shown}` : JSON.stringify(shown);
}

/**
 * A whole number ≥ 0 from the command line, malformed or too large being invalid input (exit 4).
 * Offsets are read as JavaScript numbers, so one beyond 2^53-1 is refused as too large rather
 * than rounded to a neighbour.
 */
function wholeNumber(text: string, name: string, code: 'UNKNOWN_PARTITION' | 'OFFSET_OUT_OF_RANGE'): number {
  const shown = shownArgument(text);
  if (!/^\d+$/.test(text)) throw new TieringError(code, `${name} must be a whole number ≥ 0, got ${shown}`);
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new TieringError(code, `${name} ${shown} is too large: at most ${Number.MAX_SAFE_INTEGER} (2^53-1)`);
  return value;
}

/** `--max-bytes`: a whole number from 1 to `MAX_READ_BYTES`, anything else a usage error (exit 2). */
function maxBytesOption(text: string): number {
  const value = /^\d{1,10}$/.test(text) ? Number(text) : Number.NaN;
  if (value >= 1 && value <= MAX_READ_BYTES) return value;
  throw new UsageError(`--max-bytes must be from 1 to ${MAX_READ_BYTES} (64 MiB), got ${shownArgument(text)}`);
}

/** A command-line argument as a message quotes it: its first 40 characters, control characters escaped. */
const shownArgument = (text: string) => JSON.stringify(printable(text.length > 40 ? `${text.slice(0, 40)}…` : text));
