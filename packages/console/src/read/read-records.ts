import type { ReadAtResult, TieredStorage } from '@takhin/core';

export interface ReadOptions {
  /** At most this many bytes of batches (at least one whole batch is always returned). */
  readonly maxBytes: number;
}

/**
 * The record batches a Kafka fetch at `offset` returns, and the segment they came from: core's
 * `readAt`, which reads an archived segment in verified chunks without restoring it. The one
 * place the console reads records.
 */
export function readRecordBatches(tiered: TieredStorage, topic: string, partition: number, offset: number, options: ReadOptions): Promise<ReadAtResult> {
  return tiered.readAt(topic, partition, offset, { maxBytes: options.maxBytes });
}
