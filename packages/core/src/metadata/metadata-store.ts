import type { SegmentRecord } from './segment-record.js';

/**
 * One change in a `commit`. `ifVersion` makes it conditional (compare-and-set): the record's
 * stored version must equal it, or be absent for `'absent'`; otherwise the whole commit fails
 * with `METADATA_CONFLICT` and nothing is written. A single process never needs it; brokers
 * sharing a networked store do.
 */
export type MetadataWrite =
  | { readonly put: SegmentRecord; readonly ifVersion?: number | 'absent' }
  | { readonly delete: string; readonly ifVersion?: number };

/** Which records `records()` returns; a broker in a cluster reads only the partitions it owns. */
export interface RecordFilter {
  readonly topic?: string;
  readonly partition?: number;
}

/**
 * Where segment records live. Every method is asynchronous and speaks only in records and
 * conditional writes, so a networked store (PostgreSQL for brokers sharing a bucket) implements
 * it without callers changing; the embedded default is SQLite, tests may use memory. Reads in
 * the hot path never come here: `TieredStorage` keeps an in-memory index in front.
 */
export interface MetadataStore {
  /** Where the records are, for messages (`sqlite /var/lib/kafka/.takhin-tiered.db`). */
  readonly description: string;
  /** Every record (matching `filter`), a page at a time; used to build the in-memory index. */
  records(filter?: RecordFilter): AsyncIterable<readonly SegmentRecord[]>;
  get(path: string): Promise<SegmentRecord | undefined>;
  /** Applies every write or none; resolves once the change is durable. */
  commit(writes: readonly MetadataWrite[]): Promise<void>;
  /** Releases the file or connection; later calls fail. */
  close(): Promise<void>;
}
