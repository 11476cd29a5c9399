import { injectable } from 'tsyringe';
import type { SegmentRecord } from '../../metadata/segment-record.js';
import { isInternalTopic } from '../../segments/segment-path.js';
import type { PolicyProposal, PolicyRule } from '../policy-rule.js';

const PINNED: PolicyProposal = { tier: 'hot', pin: true, reason: 'internal topics (__*) are never tiered' };

/** Pins Kafka's internal topics (`__consumer_offsets`, `__cluster_metadata`, …) hot. */
@injectable()
export class InternalTopicRule implements PolicyRule {
  readonly name = 'internal-topic';

  evaluate(segment: SegmentRecord): PolicyProposal | undefined {
    return isInternalTopic(segment.topic) ? PINNED : undefined;
  }
}
