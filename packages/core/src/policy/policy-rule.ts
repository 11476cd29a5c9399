import type { TieredSettings } from '../config/takhin-config.js';
import type { SegmentRecord, Tier } from '../metadata/segment-record.js';

/** What a rule proposes for a segment. A pin beats every proposal that is not a pin. */
export interface PolicyProposal {
  readonly tier: Tier;
  readonly pin?: boolean;
  /** Why, in words an operator reads in `plan()`. */
  readonly reason: string;
}

/** What a rule may look at besides the segment: the time, the settings and the partition. */
export interface PolicyContext {
  /** Milliseconds since the epoch, from the `CLOCK`; one value for a whole plan. */
  readonly now: number;
  readonly settings: TieredSettings;
  /** Whether the segment is Kafka's active segment: its partition's highest base offset on local disk. */
  isActive(segment: SegmentRecord): boolean;
  /** Bytes of the chunk cache of remote reads, which shares `local.cache.size.mb` with segments. */
  readonly cacheBytes: number;
}

/**
 * One tiering rule. Register rules under `POLICY_RULES` (many); the `PolicyEngine` asks each
 * one per segment. Pins beat everything, then the coldest proposal wins.
 */
export interface PolicyRule {
  readonly name: string;
  /** A proposal for `segment`, or undefined (or null) to have no opinion. Called for every segment: keep it cheap. */
  evaluate(segment: SegmentRecord, context: PolicyContext): PolicyProposal | null | undefined;
  /** Called once per plan, before any `evaluate`, with every segment: for rules that rank segments. */
  prepare?(segments: Iterable<SegmentRecord>, context: PolicyContext): void;
}
