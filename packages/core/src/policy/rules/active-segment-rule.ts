import { injectable } from 'tsyringe';
import type { SegmentRecord } from '../../metadata/segment-record.js';
import type { PolicyContext, PolicyProposal, PolicyRule } from '../policy-rule.js';

const PINNED: PolicyProposal = { tier: 'hot', pin: true, reason: "the partition's active segment (highest base offset) is still written to" };

/** Pins each partition's active segment hot: Kafka still appends to it. */
@injectable()
export class ActiveSegmentRule implements PolicyRule {
  readonly name = 'active-segment';

  evaluate(segment: SegmentRecord, context: PolicyContext): PolicyProposal | undefined {
    return context.isActive(segment) ? PINNED : undefined;
  }
}
