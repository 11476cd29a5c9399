import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  SqliteMetadataStore,
  createContainer,
  loadConfig,
  openTieredStorage,
  segmentPathOf,
  type SegmentRecord,
} from '@takhin/core';
import { provider as fsProvider } from '@takhin/backend-fs';
import { round } from '../numbers.js';

/**
 * One call's cost two ways: `hot`, the same segment again and again (all in CPU cache, as the
 * seed's Go benchmarks measure), and `random`, a different segment each call across all of
 * them (a cache miss or more per call at 10^5 and up: memory latency, not code).
 */
export interface CallCost {
  hotNs: number;
  randomNs: number;
}

/** The cost of the tiering model at one size, each a median of several timed loops. */
export interface ModelCostRun {
  segments: number;
  partitions: number;
  /** `getSegment(path)`: the in-memory index lookup. */
  lookup: CallCost;
  /** A bare `Map.get` of the same keys: the floor under any lookup at this size. */
  bareMap: CallCost;
  /** `findSegment(topic, partition, offset)`: the floor search by base offset. */
  findSegment: CallCost;
  /** One `PolicyEngine.decide` over the five built-in rules. */
  policyDecision: CallCost;
  /** `getStats()`. */
  getStatsNs: number;
  /** `openTieredStorage` on a SQLite file of this many records (load, index, reconcile, scan). */
  reopenMs: number;
}

export interface ModelCostsResult {
  runs: ModelCostRun[];
  /** The seed's published Go figures, at small N: lookup, policy decision, stats. */
  seed: { lookupNs: number; policyDecisionNs: number; getStatsNs: number };
  targets: { lookupNs: number; policyDecisionNs: number; getStatsNs: number; reopenMs: number };
  pass: boolean;
}

const SEGMENTS_PER_PARTITION = 1_000;
const HOUR = 3_600_000;
const REPEATS = 7;
const CALLS = 1 << 16;
/** The same segment every call. */
const HOT: readonly number[] = new Array<number>(CALLS).fill(0);

function randomPicks(size: number): number[] {
  return Array.from({ length: CALLS }, () => Math.floor(Math.random() * size));
}

/**
 * Builds a metadata file of `sizes` archived records each (no local files, so opening it is the
 * metadata's cost alone), opens it through the real entry point and times the model's reads.
 */
export async function benchModelCosts(sizes: readonly number[]): Promise<ModelCostsResult> {
  const runs: ModelCostRun[] = [];
  // One untimed pass at the smallest size first: a fresh process's first figures otherwise
  // include the JIT's warm-up of the timing loop itself (getSegment at 10^3: 80-105 ns, then
  // 32-53) and the first open's one-off work (reopen at 10^3: 25-115 ms, then 10-15).
  await measure(Math.min(...sizes));
  for (const size of sizes) runs.push(await measure(size));
  const targets = { lookupNs: 50, policyDecisionNs: 200, getStatsNs: 1_000, reopenMs: 5_000 };
  const largest = runs[runs.length - 1]!;
  const pass =
    largest.lookup.hotNs <= targets.lookupNs &&
    largest.policyDecision.hotNs <= targets.policyDecisionNs &&
    largest.getStatsNs <= targets.getStatsNs &&
    largest.reopenMs <= targets.reopenMs;
  return { runs, seed: { lookupNs: 16, policyDecisionNs: 1.5, getStatsNs: 191 }, targets, pass };
}

async function measure(size: number): Promise<ModelCostRun> {
  const work = await mkdtemp(join(tmpdir(), 'takhin-bench-model-'));
  try {
    const dataDir = join(work, 'data');
    await mkdir(dataDir);
    const partitions = Math.max(1, Math.ceil(size / SEGMENTS_PER_PARTITION));
    const now = Date.now();
    const config = loadConfig({ storage: { data: { dir: dataDir }, tiered: { enabled: true } } });
    const store = new SqliteMetadataStore(config.storage.tiered.metadata.path!);
    // Written a batch at a time and not kept: a restarting broker holds no second copy of its
    // catalog, and 10^6 records of the bench's own, live through the timed open, made each of
    // its garbage collections mark them too (0.4-0.6 s more at 10^6 alone, 1.3-2.2 s in a full run).
    for (let first = 0; first < size; first += 20_000) {
      const batch: { put: SegmentRecord }[] = [];
      for (let n = first; n < Math.min(size, first + 20_000); n++) batch.push({ put: syntheticRecord(n, partitions, now) });
      await store.commit(batch);
    }
    await store.close();

    const started = performance.now();
    const tiered = await openTieredStorage(createContainer(config, [fsProvider]));
    const reopenMs = performance.now() - started;
    try {
      const records = Array.from({ length: size }, (_, n) => syntheticRecord(n, partitions, now));
      if (tiered.getStats().totalSegments !== size) throw new Error(`opened ${tiered.getStats().totalSegments} records, wrote ${size}`);
      // Fresh strings, as a caller's would be (not the index's own key objects).
      const paths = records.map((r) => `${r.path}`);
      const bare = new Map(tiered.listSegments().map((segment) => [segment.path, segment]));
      const engine = tiered.engine;
      const context = engine.context(records, () => false);
      const costOf = (call: (i: number) => number): CallCost => ({ hotNs: perCall(HOT, call), randomNs: perCall(randomPicks(size), call) });
      return {
        segments: size,
        partitions,
        reopenMs: round(reopenMs, 1),
        lookup: costOf((i) => tiered.getSegment(paths[i]!).size),
        bareMap: costOf((i) => bare.get(paths[i]!)!.size),
        findSegment: costOf((i) => tiered.findSegment(records[i]!.topic, records[i]!.partition, records[i]!.baseOffset + 17).baseOffset),
        policyDecision: costOf((i) => (engine.decide(records[i]!, context).tier === 'cold' ? 1 : 0)),
        getStatsNs: perCall(HOT, () => tiered.getStats().totalSegments),
      };
    } finally {
      await tiered.close();
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** A Kafka topic id for each of the 7 topics, as `partition.metadata` gives it. */
const TOPIC_IDS = Array.from({ length: 7 }, (_, i) => createHash('sha256').update(`topic-${i}`).digest().subarray(0, 16).toString('base64url'));

/** The `n`th of the archived, cold records spread over partitions, of ages from an hour to a month. */
function syntheticRecord(n: number, partitions: number, now: number): SegmentRecord {
  const topic = `topic-${n % 7}.events`;
  const partition = n % partitions;
  const baseOffset = Math.floor(n / partitions) * 50_000;
  const lastModified = now - ((n * 7919) % (720 * HOUR)) - HOUR;
  const checksums = { crc32c: 'ie++sA==', sha256: n.toString(16).padStart(64, '0') };
  return {
    path: segmentPathOf(topic, partition, baseOffset),
    topic,
    partition,
    topicId: TOPIC_IDS[n % 7]!,
    baseOffset,
    size: 1_073_741_824,
    files: { log: { size: 1_073_741_824, checksums }, index: { size: 10_485_760 }, timeindex: { size: 10_485_760 } },
    lastModified,
    lastAccessAt: lastModified,
    policy: 'cold',
    isArchived: true,
    objectKey: segmentPathOf(topic, partition, baseOffset),
    checksums,
    archivedAt: lastModified + HOUR,
    state: 'idle',
    version: 1,
  };
}

/**
 * Nanoseconds per call of `call` over `picks`: the median of several loops, after a warm-up
 * loop, with the results summed so the work cannot be optimised away.
 */
function perCall(picks: readonly number[], call: (pick: number) => number): number {
  let sink = 0;
  for (const pick of picks) sink += call(pick);
  const samples: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const start = process.hrtime.bigint();
    for (const pick of picks) sink += call(pick);
    samples.push(Number(process.hrtime.bigint() - start) / picks.length);
  }
  if (sink === Number.MIN_SAFE_INTEGER) console.log(sink);
  return round(samples.sort((a, b) => a - b)[REPEATS >> 1]!, 1);
}

