import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import { inject, injectable } from 'tsyringe';
import {
  CLOCK,
  PolicyEngine,
  POLICY_RULES,
  createContainer,
  loadConfig,
  parseConfigObject,
  planStep,
  segmentPathOf,
  type BackendProvider,
  type Clock,
  type PolicyContext,
  type PolicyProposal,
  type PolicyRule,
  type SegmentRecord,
} from '@takhin/core';

const HOUR = 3_600_000;
const MiB = 1024 * 1024;
const NOW = Date.UTC(2026, 10, 25, 12);

/** A backend that is never used: the engine needs a container, not a store. */
const unused: BackendProvider = {
  name: 'fs',
  parseConfig: (raw) => parseConfigObject('storage.tiered.fs', raw, { root: { type: 'string' } }),
  create: () => {
    throw new Error('not used');
  },
};

class FixedClock implements Clock {
  constructor(public time: number) {}
  now(): number {
    return this.time;
  }
}

function segment(fields: Partial<SegmentRecord> & { topic?: string; baseOffset?: number; idleHours?: number }): SegmentRecord {
  const topic = fields.topic ?? 'orders';
  const partition = fields.partition ?? 0;
  const baseOffset = fields.baseOffset ?? 0;
  const lastModified = fields.lastModified ?? NOW - (fields.idleHours ?? 0) * HOUR;
  const size = fields.size ?? MiB;
  return {
    path: segmentPathOf(topic, partition, baseOffset),
    topic,
    partition,
    baseOffset,
    size,
    files: { log: { size } },
    lastModified,
    lastAccessAt: fields.lastAccessAt ?? lastModified,
    policy: fields.policy ?? 'hot',
    isArchived: fields.isArchived ?? false,
    state: fields.state ?? 'idle',
    version: 1,
  };
}

/** An engine from a real child container, with the clock fixed at NOW and `extra` rules added. */
function engineFor(tiered: Record<string, unknown> = {}, extra: PolicyRule[] = []) {
  const container = createContainer(loadConfig({ storage: { data: { dir: '/data' }, tiered } }), [unused]);
  const clock = new FixedClock(NOW);
  container.register(CLOCK, { useValue: clock });
  for (const rule of extra) container.register(POLICY_RULES, { useValue: rule });
  const engine = container.resolve(PolicyEngine);
  const decide = (s: SegmentRecord, all: SegmentRecord[] = [s], active: (s: SegmentRecord) => boolean = () => false) =>
    engine.decide(s, engine.context(all, active));
  return { engine, clock, decide };
}

describe('PolicyEngine', () => {
  describe('the age rule, at each boundary', () => {
    const { decide } = engineFor({ 'warm.age.hours': 72, 'cold.age.hours': 168 });
    it.each([
      [0, 'hot'],
      [72 - 1 / 3_600_000, 'hot'],
      [72, 'warm'],
      [168 - 1 / 3_600_000, 'warm'],
      [168, 'cold'],
      [5000, 'cold'],
    ] as const)('idle %s h is %s', (idleHours, tier) => {
      const decision = decide(segment({ idleHours }));
      expect(decision).toMatchObject({ tier, rule: 'age', pinned: false });
    });

    it('counts from the last use, so a restored segment is not sent straight back', () => {
      const restored = segment({ idleHours: 500, lastAccessAt: NOW - HOUR, isArchived: true });
      expect(decide(restored).tier).toBe('hot');
    });

    it('says why, naming the setting', () => {
      expect(decide(segment({ idleHours: 200 })).reason).toBe('unused for storage.tiered.cold.age.hours (168 h) or more');
    });
  });

  it("takes a rule's null as no opinion, and names the rule whose proposal is not a tier or that throws", () => {
    const rule = (name: string, evaluate: PolicyRule['evaluate']): PolicyRule => ({ name, evaluate });
    const old = segment({ idleHours: 500 });
    expect(engineFor({}, [rule('silent', () => null)]).decide(old)).toMatchObject({ tier: 'cold', rule: 'age' });
    const shouting = engineFor({}, [rule('shouting', () => ({ tier: 'COLD', reason: 'x' }) as unknown as PolicyProposal)]);
    expect(() => shouting.decide(old)).toThrow(/policy rule "shouting" proposed \{"tier":"COLD","reason":"x"\} for orders-0\/0+\.log; a proposal is \{ tier: 'hot' \| 'warm' \| 'cold'/);
    const failing = engineFor({}, [rule('failing', () => {
      throw new Error('no budget table');
    })]);
    expect(() => failing.decide(old)).toThrow(/policy rule "failing" failed in evaluate of orders-0\/0+\.log: no budget table/);
    const unprepared = engineFor({}, [{ name: 'ranker', evaluate: () => undefined, prepare: () => { throw new Error('ranking broke'); } }]);
    expect(() => unprepared.decide(old)).toThrow(/policy rule "ranker" failed in prepare: ranking broke/);
  });

  it('follows the clock: the same segment ages as time passes', () => {
    const { engine, clock } = engineFor();
    const s = segment({ idleHours: 0 });
    const at = () => engine.decide(s, engine.context([s], () => false)).tier;
    expect(at()).toBe('hot');
    clock.time += 72 * HOUR;
    expect(at()).toBe('warm');
    clock.time += 96 * HOUR;
    expect(at()).toBe('cold');
  });

  it("pins the partition's active segment hot, whatever its age", () => {
    const { decide } = engineFor();
    const old = segment({ idleHours: 1000 });
    expect(decide(old, [old], () => true)).toMatchObject({ tier: 'hot', rule: 'active-segment', pinned: true });
  });

  it('pins internal topics hot', () => {
    const { decide } = engineFor();
    expect(decide(segment({ topic: '__consumer_offsets', idleHours: 1000 }))).toMatchObject({ tier: 'hot', rule: 'internal-topic', pinned: true });
    expect(decide(segment({ topic: '__cluster_metadata', idleHours: 1000 })).rule).toBe('internal-topic');
  });

  it('applies per-topic ages, and pins a never-tiered topic to local disk', () => {
    const { decide } = engineFor({
      topics: { 'audit.log': { 'cold.age.hours': 24, 'warm.age.hours': 2 }, payments: { enabled: false } },
    });
    expect(decide(segment({ topic: 'audit.log', idleHours: 25 }))).toMatchObject({ tier: 'cold', rule: 'age' });
    expect(decide(segment({ topic: 'audit.log', idleHours: 25 })).reason).toMatch(/storage.tiered.topics.audit.log.cold.age.hours \(24 h\)/);
    expect(decide(segment({ topic: 'orders', idleHours: 25 })).tier).toBe('hot');
    expect(decide(segment({ topic: 'payments', idleHours: 1000 }))).toMatchObject({ tier: 'warm', rule: 'topic-override', pinned: true });
    expect(decide(segment({ topic: 'payments', idleHours: 1 }))).toMatchObject({ tier: 'hot', rule: 'topic-override', pinned: true });
  });

  describe('cache pressure', () => {
    // Budget 3 MiB; every segment 1 MiB; all young enough to stay by age.
    const settings = { 'local.cache.size.mb': 3 };

    it('evicts the least recently used restored segments first, then archives warm ones early', () => {
      const { engine } = engineFor(settings);
      const restored = [3, 1, 2].map((hoursAgo, i) => segment({ baseOffset: i, isArchived: true, lastAccessAt: NOW - hoursAgo * HOUR, idleHours: 400 }));
      const warm = [10, 20].map((hoursAgo, i) => segment({ baseOffset: 10 + i, policy: 'warm', idleHours: 80 + hoursAgo }));
      const hot = segment({ baseOffset: 20, idleHours: 1 });
      const all = [...restored, ...warm, hot];
      const context = engine.context(all, (s) => s === hot);
      const tiers = all.map((s) => engine.decide(s, context));
      // 5 MiB of restored + warm against a 3 MiB budget: the two least recently used go.
      expect(tiers.map((d) => d.tier)).toEqual(['cold', 'hot', 'cold', 'warm', 'warm', 'hot']);
      expect(tiers[0]!.rule).toBe('cache-pressure');
      expect(tiers[0]!.reason).toMatch(/least recently used restored segment/);
    });

    it('archives warm segments early only once no restored one is left to evict', () => {
      const { engine } = engineFor(settings);
      const warm = [1, 2, 3, 4, 5].map((n) => segment({ baseOffset: n, policy: 'warm', idleHours: 80 + n }));
      const context = engine.context(warm, () => false);
      const decisions = warm.map((s) => engine.decide(s, context));
      expect(decisions.filter((d) => d.rule === 'cache-pressure')).toHaveLength(2);
      // Oldest (most idle) first.
      expect(decisions.slice(3).every((d) => d.tier === 'cold' && /archived early/.test(d.reason))).toBe(true);
    });

    it('counts the chunk cache against the budget, and never touches pinned segments', () => {
      const { engine } = engineFor(settings);
      const restored = segment({ isArchived: true, idleHours: 400, lastAccessAt: NOW - HOUR });
      const internal = segment({ topic: '__consumer_offsets', isArchived: true, idleHours: 400, lastAccessAt: NOW - 2 * HOUR });
      expect(engine.decide(restored, engine.context([restored, internal], () => false, 0)).tier).toBe('hot');
      const squeezed = engine.context([restored, internal], () => false, 3 * MiB);
      expect(engine.decide(restored, squeezed).rule).toBe('cache-pressure');
      expect(engine.decide(internal, squeezed).rule).toBe('internal-topic');
    });
  });

  describe("a user's own rule", () => {
    it('takes part like a built-in one: the coldest proposal wins', () => {
      const rule: PolicyRule = { name: 'big-segments-go-early', evaluate: (s) => (s.size > 10 * MiB ? { tier: 'cold', reason: 'big' } : undefined) };
      const { decide } = engineFor({}, [rule]);
      expect(decide(segment({ size: 20 * MiB }))).toMatchObject({ tier: 'cold', rule: 'big-segments-go-early', reason: 'big' });
      expect(decide(segment({ size: MiB }))).toMatchObject({ tier: 'hot', rule: 'age' });
    });

    it('a pin beats every proposal, the first pin wins', () => {
      const keep: PolicyRule = { name: 'legal-hold', evaluate: (s) => (s.topic === 'orders' ? { tier: 'hot', pin: true, reason: 'legal hold' } : undefined) };
      const { decide } = engineFor({}, [keep]);
      expect(decide(segment({ idleHours: 1000 }))).toMatchObject({ tier: 'hot', rule: 'legal-hold', pinned: true });
      // The built-in active pin is registered first and still wins.
      const s = segment({ idleHours: 1000 });
      expect(decide(s, [s], () => true).rule).toBe('active-segment');
    });

    it('is an injectable class resolved with constructor injection, seeing the same clock', () => {
      @injectable()
      class WeekendRule implements PolicyRule {
        readonly name = 'weekend';
        constructor(@inject(CLOCK) private readonly clock: Clock) {}
        evaluate(_segment: SegmentRecord, context: PolicyContext): PolicyProposal | undefined {
          expect(context.now).toBe(this.clock.now());
          return new Date(this.clock.now()).getUTCDay() === 3 ? { tier: 'warm', reason: 'Wednesday' } : undefined;
        }
      }
      const container = createContainer(loadConfig({ storage: { data: { dir: '/data' } } }), [unused]);
      container.register(CLOCK, { useValue: new FixedClock(NOW) }); // a Wednesday
      container.register(POLICY_RULES, { useClass: WeekendRule });
      const engine = container.resolve(PolicyEngine);
      expect(engine.rules.map((r) => r.name)).toEqual(['active-segment', 'internal-topic', 'topic-override', 'age', 'cache-pressure', 'weekend']);
      const s = segment({ idleHours: 1 });
      expect(engine.decide(s, engine.context([s], () => false))).toMatchObject({ tier: 'warm', rule: 'weekend' });
    });

    it('is refused when it is not a rule, or reuses a name', () => {
      expect(() => engineFor({}, [{ name: 'age', evaluate: () => undefined }])).toThrow(/two policy rules are named "age"/);
      expect(() => engineFor({}, [{ evaluate: () => undefined } as unknown as PolicyRule])).toThrow(/a policy rule must be/);
    });
  });

  describe('plan steps', () => {
    const { decide } = engineFor();
    it.each([
      ['a young hot segment stays', segment({ idleHours: 1 }), 'hot', 'none'],
      ['an older hot one turns warm (metadata only)', segment({ idleHours: 100 }), 'warm', 'retier'],
      ['an old one is archived', segment({ idleHours: 200, policy: 'warm' }), 'cold', 'archive'],
      ['an old restored one is evicted (already remote)', segment({ idleHours: 200, isArchived: true }), 'cold', 'evict'],
      ['an archived one stays cold', segment({ idleHours: 1, policy: 'cold', isArchived: true }), 'cold', 'none'],
      ['one with an operation in flight is left alone', segment({ idleHours: 200, state: 'archiving' }), 'hot', 'none'],
    ] as const)('%s', (_, s, to, action) => {
      const step = planStep(s, decide(s));
      expect(step).toMatchObject({ path: s.path, from: s.policy, to, action });
      expect(step.reason.length).toBeGreaterThan(0);
    });
  });
});
