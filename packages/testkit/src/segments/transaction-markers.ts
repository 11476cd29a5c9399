import { RecordBatchAttributes } from '@takhin/core';
import type { EncodableBatch } from './record-batch-encoder.js';

export type TransactionOutcome = 'commit' | 'abort';

/** Attributes of a transaction's data batches and of its marker. */
export const TRANSACTIONAL_ATTRIBUTES = RecordBatchAttributes.TRANSACTIONAL;
export const MARKER_ATTRIBUTES = RecordBatchAttributes.TRANSACTIONAL | RecordBatchAttributes.CONTROL;

/**
 * The control batch that ends a transaction (Kafka's `EndTransactionMarker`): one record whose
 * key is (version 0, type 0 = ABORT or 1 = COMMIT) and whose value is (version 0, coordinator
 * epoch), no sequence number.
 */
export function endTransactionMarker(options: {
  offset: bigint;
  timestamp: bigint;
  outcome: TransactionOutcome;
  producerId: bigint;
  producerEpoch: number;
  coordinatorEpoch: number;
  partitionLeaderEpoch: number;
}): EncodableBatch {
  const key = Buffer.alloc(4);
  key.writeInt16BE(0, 0);
  key.writeInt16BE(options.outcome === 'commit' ? 1 : 0, 2);
  const value = Buffer.alloc(6);
  value.writeInt16BE(0, 0);
  value.writeInt32BE(options.coordinatorEpoch, 2);
  return {
    baseOffset: options.offset,
    partitionLeaderEpoch: options.partitionLeaderEpoch,
    attributes: MARKER_ATTRIBUTES,
    lastOffsetDelta: 0,
    baseTimestamp: options.timestamp,
    maxTimestamp: options.timestamp,
    producerId: options.producerId,
    producerEpoch: options.producerEpoch,
    baseSequence: -1,
    records: [{ offsetDelta: 0, timestampDelta: 0, key, value, headers: [] }],
  };
}
