import { inject, injectable } from 'tsyringe';
import type { TieredSettings } from '../../config/takhin-config.js';
import { TIERED_CONFIG } from '../../di/tokens.js';
import type { SegmentRecord, Tier } from '../../metadata/segment-record.js';
import type { PolicyContext, PolicyProposal, PolicyRule } from '../policy-rule.js';
import { agesFor, idleMs, tierForAge, type SegmentAges } from '../segment-age.js';

interface AgeTable {
  readonly ages: SegmentAges;
  readonly proposals: Readonly<Record<Tier, PolicyProposal>>;
}

/**
 * HOT until `warm.age.hours`, WARM until `cold.age.hours`, then COLD, counted from the last
 * write or use; a topic's override under `storage.tiered.topics` brings its own ages. Proposals
 * are built once per topic, so a decision allocates nothing.
 */
@injectable()
export class AgeRule implements PolicyRule {
  readonly name = 'age';
  readonly #global: AgeTable;
  readonly #byTopic = new Map<string, AgeTable>();

  constructor(@inject(TIERED_CONFIG) settings: TieredSettings) {
    this.#global = table(settings, 'storage.tiered');
    for (const topic of Object.keys(settings.topics)) this.#byTopic.set(topic, table(agesFor(settings, topic), `storage.tiered.topics.${topic}`));
  }

  evaluate(segment: SegmentRecord, context: PolicyContext): PolicyProposal {
    const rule = (this.#byTopic.size > 0 && this.#byTopic.get(segment.topic)) || this.#global;
    return rule.proposals[tierForAge(idleMs(segment, context.now), rule.ages)];
  }
}

function table(ages: SegmentAges, section: string): AgeTable {
  return {
    ages: { warmAgeHours: ages.warmAgeHours, coldAgeHours: ages.coldAgeHours },
    proposals: {
      hot: { tier: 'hot', reason: `used within ${section}.warm.age.hours (${ages.warmAgeHours} h)` },
      warm: { tier: 'warm', reason: `unused for ${section}.warm.age.hours (${ages.warmAgeHours} h) or more` },
      cold: { tier: 'cold', reason: `unused for ${section}.cold.age.hours (${ages.coldAgeHours} h) or more` },
    },
  };
}
