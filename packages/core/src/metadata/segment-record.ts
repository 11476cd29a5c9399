import type { Checksums } from '../contracts/cold-store.js';
import type { SegmentFileExtension } from '../kafka/segment-file-name.js';

/** Where a segment lives: HOT and WARM are local (young, older), COLD only in the cold store. */
export type Tier = 'hot' | 'warm' | 'cold';
export const TIERS: readonly Tier[] = ['hot', 'warm', 'cold'];

/**
 * An operation in flight, written durably before any byte moves, so a crash leaves a state that
 * reconciliation can finish or roll back (Kafka's KIP-405 habit: the state first, then the act).
 */
export type SegmentState = 'idle' | 'archiving' | 'restoring';

/** One file of a segment: its size (the `.log` also its checksums once archived). */
export interface SegmentFile {
  readonly size: number;
  readonly checksums?: Checksums;
}

/**
 * The segment's files. The record keeps the `.log`'s checksums; the segment's manifest in the
 * cold store keeps every file's, and is what restores and reads verify against.
 */
export type SegmentFiles = { readonly log: SegmentFile } & { readonly [E in Exclude<SegmentFileExtension, 'log'>]?: { readonly size: number } };

/** Everything known about one segment: the seed's fields and what the protocols need. */
export interface SegmentRecord {
  /** `<topic>-<partition>/<20-digit base offset>.log`, relative to the data dir. */
  readonly path: string;
  readonly topic: string;
  readonly partition: number;
  /**
   * The id of the topic the segment belongs to, from its partition's `partition.metadata`
   * (22 base64url characters). Absent where the partition has none (Kafka before 2.8, other log
   * stores) and in records made before ids were kept. A record whose id is not the partition's
   * id now is of a deleted topic of the same name.
   */
  readonly topicId?: string;
  readonly baseOffset: number;
  /** Bytes of the `.log` file. */
  readonly size: number;
  /** The segment's files and their sizes (and the `.log`'s checksums once archived). */
  readonly files: SegmentFiles;
  /** The `.log` file's modification time, ms since the epoch. */
  readonly lastModified: number;
  /** Last time the segment was restored or opened through this library, ms since the epoch. */
  readonly lastAccessAt: number;
  /** The tier it is in now. COLD means only the cold store holds it. */
  readonly policy: Tier;
  /** Whether a verified copy is in the cold store (a restored segment keeps its copy). */
  readonly isArchived: boolean;
  /** The `.log` object's key in the cold store; the other files and the manifest sit beside it. */
  readonly objectKey?: string;
  /** The `.log` file's checksums (every file's are in the segment's manifest). */
  readonly checksums?: Checksums;
  /** When the archive committed, ms since the epoch. */
  readonly archivedAt?: number;
  /** The operation in flight, if any. */
  readonly state: SegmentState;
  /** Bumped by every write; a networked store compares it before writing (compare-and-set). */
  readonly version: number;
}

/** Whether the segment's files are on local disk. */
export function isLocal(record: SegmentRecord): boolean {
  return record.policy !== 'cold';
}

/** Bytes of the segment's files that are on local disk (0 when cold). */
export function localBytesOf(record: SegmentRecord): number {
  return record.policy === 'cold' ? 0 : filesBytes(record.files);
}

/** Bytes of the segment's files in the cold store (0 when not archived). */
export function remoteBytesOf(record: SegmentRecord): number {
  return record.isArchived ? filesBytes(record.files) : 0;
}

function filesBytes(files: SegmentFiles): number {
  return files.log.size + (files.index?.size ?? 0) + (files.timeindex?.size ?? 0) + (files.txnindex?.size ?? 0);
}
