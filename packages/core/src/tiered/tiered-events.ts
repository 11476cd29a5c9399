import type { SegmentRecord, Tier } from '../metadata/segment-record.js';

/** What failed, on which segment, and whether a later cycle will try again. */
export interface OperationFailure {
  readonly operation: 'archive' | 'restore' | 'evict' | 'retier' | 'reconcile' | 'cycle';
  readonly path: string | undefined;
  readonly error: Error;
  /** When a later cycle retries it (ms since the epoch), if it will. */
  readonly retryAt?: number;
}

/** Bytes moved and time taken by one archive or restore. */
export interface TransferSummary {
  readonly bytes: number;
  readonly durationMs: number;
  /** Files that needed no upload because a verified copy was already there (an idempotent retry). */
  readonly reused?: number;
}

/** The typed events of `TieredStorage` (eventemitter3): `tiered.on('segment:archived', …)`. */
export interface TieredStorageEvents {
  /** A segment appeared on local disk that the metadata did not know. */
  'segment:discovered': (segment: SegmentRecord) => void;
  /** A segment moved between tiers (including hot ↔ warm, which moves no bytes). */
  'segment:tier-changed': (segment: SegmentRecord, from: Tier, to: Tier) => void;
  /** Verified in the cold store, committed, and its local files deleted. */
  'segment:archived': (segment: SegmentRecord, summary: TransferSummary) => void;
  /** Downloaded, verified against its manifest and renamed into place. */
  'segment:restored': (segment: SegmentRecord, summary: TransferSummary) => void;
  /** Local files of an archived segment deleted; its remote copy stays. */
  'segment:evicted': (segment: SegmentRecord) => void;
  'operation:failed': (failure: OperationFailure) => void;
}
