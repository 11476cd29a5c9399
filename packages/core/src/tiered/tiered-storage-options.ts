import type { SegmentRecord } from '../metadata/segment-record.js';
import type { SegmentFileExtension } from '../kafka/segment-file-name.js';

export interface PlanOptions {
  /** Only the segments a cycle would change (action other than `none`). */
  readonly changesOnly?: boolean;
}

export interface OpenOptions {
  /** Written into the data dir's lock file for other processes to read (the console puts its address). */
  readonly owner?: Record<string, unknown>;
  /**
   * Claim the cold store's prefix even though another data dir's claim is there: this data dir
   * takes that one's place for good (its disk was replaced). See docs/ARCHITECTURE.md, "The cold
   * store's owner".
   */
  readonly takeOverColdStore?: boolean;
}

export interface OperationOptions {
  readonly signal?: AbortSignal;
  /** Bytes of the segment's files moved so far (all files together), throttled. */
  readonly onProgress?: (bytes: number) => void;
}

/** A segment opened for reading: its record and the absolute paths of its local files. */
export interface OpenedSegment {
  readonly segment: SegmentRecord;
  readonly files: { readonly log: string } & { readonly [E in Exclude<SegmentFileExtension, 'log'>]?: string };
}
