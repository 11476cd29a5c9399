import { inject, injectable } from 'tsyringe';
import type { TieredSettings } from '../../config/takhin-config.js';
import { TIERED_CONFIG } from '../../di/tokens.js';
import { localBytesOf, type SegmentRecord } from '../../metadata/segment-record.js';
import { isInternalTopic } from '../../segments/segment-path.js';
import type { PolicyContext, PolicyProposal, PolicyRule } from '../policy-rule.js';
import { agesFor, idleMs, tierForAge } from '../segment-age.js';

const MiB = 1024 * 1024;
const EVICT: PolicyProposal = { tier: 'cold', reason: 'local.cache.size.mb exceeded: least recently used restored segment, evicted first (its copy stays in the cold store)' };
const ARCHIVE: PolicyProposal = { tier: 'cold', reason: 'local.cache.size.mb exceeded: least recently used warm segment, archived early' };

/**
 * `local.cache.size.mb` bounds restored and warm segments on disk (with the chunk cache of remote
 * reads). Over budget, it proposes COLD for the least recently used restored segments first,
 * whose copy is already remote, and only then for the least recently used warm ones.
 */
@injectable()
export class CachePressureRule implements PolicyRule {
  readonly name = 'cache-pressure';
  #chosen = new Map<string, PolicyProposal>();

  constructor(@inject(TIERED_CONFIG) private readonly settings: TieredSettings) {}

  prepare(segments: Iterable<SegmentRecord>, context: PolicyContext): void {
    const restored: SegmentRecord[] = [];
    const warm: SegmentRecord[] = [];
    let used = context.cacheBytes;
    for (const segment of segments) {
      if (segment.policy === 'cold' || segment.state !== 'idle' || this.#pinned(segment, context)) continue;
      // Leaving anyway by age: it frees its bytes without this rule's help.
      if (tierForAge(idleMs(segment, context.now), agesFor(this.settings, segment.topic)) === 'cold') continue;
      if (segment.isArchived) restored.push(segment);
      else if (segment.policy === 'warm') warm.push(segment);
      else continue;
      used += localBytesOf(segment);
    }
    this.#chosen = new Map();
    const budget = this.settings.localCacheSizeMb * MiB;
    const byLastUse = (a: SegmentRecord, b: SegmentRecord) => Math.max(a.lastAccessAt, a.lastModified) - Math.max(b.lastAccessAt, b.lastModified);
    for (const [candidates, proposal] of [[restored, EVICT], [warm, ARCHIVE]] as const) {
      for (const segment of candidates.sort(byLastUse)) {
        if (used <= budget) return;
        this.#chosen.set(segment.path, proposal);
        used -= localBytesOf(segment);
      }
    }
  }

  evaluate(segment: SegmentRecord): PolicyProposal | undefined {
    return this.#chosen.size === 0 ? undefined : this.#chosen.get(segment.path);
  }

  #pinned(segment: SegmentRecord, context: PolicyContext): boolean {
    return context.isActive(segment) || isInternalTopic(segment.topic) || this.settings.topics[segment.topic]?.enabled === false;
  }
}
