import { inject, injectable } from 'tsyringe';
import type { TieredSettings } from '../../config/takhin-config.js';
import { TIERED_CONFIG } from '../../di/tokens.js';
import type { SegmentRecord } from '../../metadata/segment-record.js';
import type { PolicyContext, PolicyProposal, PolicyRule } from '../policy-rule.js';
import { agesFor, idleMs, tierForAge } from '../segment-age.js';

/**
 * `storage.tiered.topics.<topic>.enabled: false`: the topic never leaves local disk. Its segments
 * still turn warm with age, but are pinned there. (A topic's own ages are the age rule's job.)
 */
@injectable()
export class TopicOverrideRule implements PolicyRule {
  readonly name = 'topic-override';
  readonly #pinned = new Map<string, { hot: PolicyProposal; warm: PolicyProposal }>();

  constructor(@inject(TIERED_CONFIG) private readonly settings: TieredSettings) {
    for (const [topic, override] of Object.entries(settings.topics)) {
      if (override.enabled !== false) continue;
      const reason = `topic "${topic}" is never tiered (storage.tiered.topics.${topic}.enabled: false)`;
      this.#pinned.set(topic, { hot: { tier: 'hot', pin: true, reason }, warm: { tier: 'warm', pin: true, reason } });
    }
  }

  evaluate(segment: SegmentRecord, context: PolicyContext): PolicyProposal | undefined {
    if (this.#pinned.size === 0) return undefined;
    const pinned = this.#pinned.get(segment.topic);
    if (pinned === undefined) return undefined;
    return tierForAge(idleMs(segment, context.now), agesFor(this.settings, segment.topic)) === 'hot' ? pinned.hot : pinned.warm;
  }
}
