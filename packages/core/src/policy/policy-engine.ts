import { inject, injectable, injectAll } from 'tsyringe';
import type { TieredSettings } from '../config/takhin-config.js';
import { CLOCK, POLICY_RULES, TIERED_CONFIG } from '../di/tokens.js';
import type { SegmentRecord, Tier } from '../metadata/segment-record.js';
import type { Clock } from './clock.js';
import type { PolicyContext, PolicyProposal, PolicyRule } from './policy-rule.js';

/** The engine's verdict for one segment: the tier, and which rule decided it and why. */
export interface PolicyDecision {
  readonly tier: Tier;
  readonly rule: string;
  readonly reason: string;
  readonly pinned: boolean;
}

const COLDNESS: Readonly<Record<string, number | undefined>> = { hot: 0, warm: 1, cold: 2 };

/**
 * Combines the rules registered under `POLICY_RULES`: the first pin wins outright; otherwise
 * the coldest proposal (the first of equals); with no proposal a segment stays where it is.
 * Time comes from the `CLOCK`, so tests and users control it.
 */
@injectable()
export class PolicyEngine {
  constructor(
    @injectAll(POLICY_RULES) readonly rules: readonly PolicyRule[],
    @inject(CLOCK) private readonly clock: Clock,
    @inject(TIERED_CONFIG) private readonly settings: TieredSettings,
  ) {
    const names = new Set<string>();
    for (const rule of rules) {
      if (typeof rule?.evaluate !== 'function' || typeof rule.name !== 'string') {
        throw new TypeError(`a policy rule must be { name: string, evaluate(segment, context) }, got ${String(rule)}`);
      }
      if (names.has(rule.name)) throw new TypeError(`two policy rules are named "${rule.name}"; names identify the deciding rule in plans`);
      names.add(rule.name);
    }
  }

  /** A context for one plan: one `now` for every segment, and the rules' preparation done. */
  context(segments: Iterable<SegmentRecord>, isActive: (segment: SegmentRecord) => boolean, cacheBytes = 0): PolicyContext {
    const context: PolicyContext = { now: this.clock.now(), settings: this.settings, isActive, cacheBytes };
    for (const rule of this.rules) {
      try {
        rule.prepare?.(segments, context);
      } catch (error) {
        throw ruleFailure(rule, 'prepare', error);
      }
    }
    return context;
  }

  /**
   * The verdict for `segment`. A rule that throws, or proposes anything but `undefined`, `null`
   * or `{ tier: 'hot' | 'warm' | 'cold', reason }`, fails the decision with a TypeError naming
   * the rule, rather than reaching the metadata store as a tier it cannot hold.
   */
  decide(segment: SegmentRecord, context: PolicyContext): PolicyDecision {
    let best: PolicyDecision | undefined;
    for (const rule of this.rules) {
      let proposal: PolicyProposal | null | undefined;
      try {
        proposal = rule.evaluate(segment, context);
      } catch (error) {
        throw ruleFailure(rule, `evaluate of ${segment.path}`, error);
      }
      if (proposal === undefined || proposal === null) continue;
      if (COLDNESS[proposal.tier] === undefined || typeof proposal.reason !== 'string') throw badProposal(rule, segment, proposal);
      if (proposal.pin) return { tier: proposal.tier, rule: rule.name, reason: proposal.reason, pinned: true };
      if (best === undefined || COLDNESS[proposal.tier]! > COLDNESS[best.tier]!) {
        best = { tier: proposal.tier, rule: rule.name, reason: proposal.reason, pinned: false };
      }
    }
    return best ?? { tier: segment.policy, rule: 'none', reason: 'no rule proposed a tier', pinned: false };
  }
}

function ruleFailure(rule: PolicyRule, call: string, error: unknown): TypeError {
  return new TypeError(`policy rule "${rule.name}" failed in ${call}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
}

function badProposal(rule: PolicyRule, segment: SegmentRecord, proposal: unknown): TypeError {
  let shown: string;
  try {
    shown = JSON.stringify(proposal)?.slice(0, 120) ?? String(proposal);
  } catch {
    shown = String(proposal);
  }
  return new TypeError(`policy rule "${rule.name}" proposed ${shown} for ${segment.path}; a proposal is { tier: 'hot' | 'warm' | 'cold', pin?: boolean, reason: string }, or nothing`);
}
