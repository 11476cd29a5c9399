import type { SegmentRecord, Tier } from '../metadata/segment-record.js';
import type { PolicyDecision } from './policy-engine.js';

/**
 * What a cycle does to a segment: nothing, a metadata-only change between the local tiers
 * (`retier`), an upload then local delete (`archive`), or a local delete of a segment whose
 * verified copy is already remote (`evict`). Archived segments come back only on demand.
 */
export type PlanAction = 'none' | 'retier' | 'archive' | 'evict';

export interface PlanItem {
  readonly path: string;
  readonly from: Tier;
  readonly to: Tier;
  readonly action: PlanAction;
  /** The deciding rule's name and reason (or why nothing happens). */
  readonly rule: string;
  readonly reason: string;
}

/** Turns the engine's decision for `segment` into the step a cycle would take. */
export function planStep(segment: SegmentRecord, decision: PolicyDecision): PlanItem {
  const from = segment.policy;
  const base = { path: segment.path, from, rule: decision.rule };
  if (segment.state !== 'idle') {
    return { ...base, to: from, action: 'none', reason: `${segment.state} already in progress` };
  }
  if (from === 'cold') {
    const reason = decision.tier === 'cold' ? decision.reason : `${decision.reason}; archived segments come back only on demand (restore, open, read)`;
    return { ...base, to: 'cold', action: 'none', reason };
  }
  if (decision.tier === 'cold') return { ...base, to: 'cold', action: segment.isArchived ? 'evict' : 'archive', reason: decision.reason };
  return { ...base, to: decision.tier, action: decision.tier === from ? 'none' : 'retier', reason: decision.reason };
}
