import { corrupt, unsupported } from './kafka-format-error.js';

/** One aborted transaction, as Kafka's `AbortedTxn` stores it in a `.txnindex`. */
export interface AbortedTransaction {
  version: number;
  producerId: bigint;
  firstOffset: bigint;
  lastOffset: bigint;
  lastStableOffset: bigint;
}

/** Bytes per `.txnindex` entry: version int16, producer id, first, last and last stable offset int64. */
export const TRANSACTION_INDEX_ENTRY_SIZE = 34;

/**
 * Parses a segment's `.txnindex`: the transactions aborted while it was active, in order.
 * The file exists only where a transaction was aborted and is never preallocated.
 */
export function parseTransactionIndex(bytes: Buffer, source?: string): AbortedTransaction[] {
  const what = 'transaction index';
  if (bytes.length % TRANSACTION_INDEX_ENTRY_SIZE !== 0) {
    throw corrupt(what, `its ${bytes.length} bytes are not a whole number of ${TRANSACTION_INDEX_ENTRY_SIZE}-byte entries`, source);
  }
  const entries: AbortedTransaction[] = [];
  for (let at = 0; at < bytes.length; at += TRANSACTION_INDEX_ENTRY_SIZE) {
    const version = bytes.readInt16BE(at);
    // Kafka's AbortedTxn has only ever had version 0 and refuses any other.
    if (version !== 0) throw unsupported(what, `entry ${at / TRANSACTION_INDEX_ENTRY_SIZE} has version ${version}; only version 0 exists`, source, at);
    entries.push({
      version,
      producerId: bytes.readBigInt64BE(at + 2),
      firstOffset: bytes.readBigInt64BE(at + 10),
      lastOffset: bytes.readBigInt64BE(at + 18),
      lastStableOffset: bytes.readBigInt64BE(at + 26),
    });
  }
  return entries;
}
