import type { ColdStoreErrorCode } from '../errors/cold-store-error.js';

/**
 * What the metrics layer records, one call per request a store's driver makes (a part upload,
 * a list page, a head) and per body byte moved. Implementations must be cheap and never throw:
 * they run on every request.
 */
export interface StoreMetrics {
  /** A request finished; `error` is the contract code it failed with, if it failed. */
  recordRequest(backend: string, operation: string, durationMs: number, error?: ColdStoreErrorCode): void;
  /** Body bytes sent to (`up`) or received from (`down`) the server. */
  recordBytes(backend: string, direction: 'up' | 'down', bytes: number): void;
}

/** Upper bounds (ms) of the latency histogram's buckets; the last bucket is everything slower. */
export const LATENCY_BUCKETS_MS: readonly number[] = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000];

/** Requests of one backend and operation: counts, failures by code and a latency histogram. */
export interface RequestSeries {
  backend: string;
  operation: string;
  requests: number;
  errors: Partial<Record<ColdStoreErrorCode, number>>;
  /** Milliseconds summed over every request. */
  latencySumMs: number;
  /**
   * Requests per latency bucket (not cumulative): `latencyBuckets[i]` counts those at or under
   * `LATENCY_BUCKETS_MS[i]` and over the bound before; the extra last entry counts the rest.
   */
  latencyBuckets: number[];
}

/** Body bytes of one backend. */
export interface ByteSeries {
  backend: string;
  up: number;
  down: number;
}

/** Plain data (it crosses threads): everything recorded, or recorded since the last delta. */
export interface StoreMetricsSnapshot {
  requests: RequestSeries[];
  bytes: ByteSeries[];
}

/** A registry the console can read and the TransferPool can merge worker deltas into. */
export interface StoreMetricsRegistry extends StoreMetrics {
  snapshot(): StoreMetricsSnapshot;
  /** Adds a snapshot's counts to this registry's (a worker thread's delta, say). */
  merge(delta: StoreMetricsSnapshot): void;
}
