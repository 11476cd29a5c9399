import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createContainer, DEFAULT_READ_MAX_BYTES, loadConfig, openTieredStorage, type BackendProvider, type TieredStorage } from '@takhin/core';
import { writeSegment } from '@takhin/testkit/standalone';
import { round } from '../numbers.js';

/** Latency and cost of one pass of random reads. */
export interface RandomReadPass {
  label: string;
  /** `local.cache.size.mb` during the pass. */
  cacheBudgetMb: number;
  reads: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Mean bytes and requests fetched from the cold store per read (cache hits fetch nothing). */
  bytesPerRead: number;
  requestsPerRead: number;
  /** Reads that fetched nothing: served by the chunk cache. */
  cacheHits: number;
}

export interface RemoteReadsResult {
  backend: string;
  segments: number;
  segmentBytes: number;
  chunkBytes: number;
  passes: RandomReadPass[];
  /** Restoring each segment whole, the alternative to a ranged read: seconds and bytes per segment. */
  restore: { seconds: number; bytesPerSegment: number };
  /** Bytes per read of the cold pass ÷ bytes of one whole-segment restore. */
  bytesRatio: number;
  targets: { bytesRatio: number; p99Ms: number };
  pass: boolean;
}

const MiB = 1024 * 1024;
const DAY = 24 * 3_600_000;

/**
 * Archives `segments` segments of `segmentMib` MiB to the backend, then reads `reads` random
 * offsets with `readAt` (nothing restored): with a cache too small to help (every read pays its
 * own fetch) and with the default budget, each time into a new buffer per read and again into
 * one lent buffer (`into`); then restores each segment whole for comparison. The targets hold
 * the first pass, a new buffer per read. One topic-partition, as a consumer catching up on old
 * data would see it.
 */
export async function benchRemoteReads(
  backend: { name: string; provider: BackendProvider; section: Record<string, unknown> },
  options: { segments: number; segmentMib: number; reads: number },
): Promise<RemoteReadsResult> {
  const work = await mkdtemp(join(tmpdir(), 'takhin-bench-reads-'));
  try {
    const dataDir = join(work, 'data');
    const ranges: { base: number; next: number }[] = [];
    let base = 0n;
    for (let i = 0; i <= options.segments; i++) {
      // The last one is the active segment: small, never archived.
      const logBytes = i < options.segments ? options.segmentMib * MiB : 64 * 1024;
      const segment = await writeSegment(dataDir, { topic: 'bench.reads', partition: 0, baseOffset: base, logBytes, recordBytes: 1000, recordsPerBatch: 16, mtime: new Date(Date.now() - (30 - i) * DAY) });
      if (i < options.segments) ranges.push({ base: Number(base), next: Number(segment.nextOffset) });
      base = segment.nextOffset;
    }
    // Each pass its own cache directory: a pass never finds the chunks an earlier one cached.
    let caches = 0;
    const open = async (budgetMb: number) =>
      openTieredStorage(
        createContainer(
          loadConfig({ storage: { data: { dir: dataDir }, tiered: { enabled: true, 'local.cache.size.mb': budgetMb, 'cache.dir': join(work, `cache-${caches++}`), ...backend.section } } }, { providers: [backend.provider] }),
          [backend.provider],
        ),
      );
    let tiered = await open(0);
    const cycle = await tiered.runCycle();
    if (cycle.archived !== options.segments) throw new Error(`archived ${cycle.archived} of ${options.segments} segments`);
    const offsets = Array.from({ length: options.reads }, () => {
      const range = ranges[Math.floor(Math.random() * ranges.length)]!;
      return range.base + Math.floor(Math.random() * (range.next - range.base));
    });
    const passes: RandomReadPass[] = [];
    passes.push(await randomReads(tiered, 'cache too small to help (0 MiB): every read fetches', 0, offsets));
    passes.push(await randomReads(tiered, `the same, into a lent buffer of 1 MiB (readAt's into)`, 0, offsets, Buffer.allocUnsafeSlow(DEFAULT_READ_MAX_BYTES)));
    await tiered.close();
    tiered = await open(10_240);
    passes.push(await randomReads(tiered, 'default budget (10 GiB): the chunk cache warms up', 10_240, offsets));
    await tiered.close();
    tiered = await open(10_240);
    passes.push(await randomReads(tiered, `the same, from an empty cache again, into a lent buffer of 1 MiB`, 10_240, offsets, Buffer.allocUnsafeSlow(DEFAULT_READ_MAX_BYTES)));

    const started = performance.now();
    const segmentPaths = tiered.listSegments({ archived: true }).map((s) => s.path);
    for (const path of segmentPaths) await tiered.restoreSegment(path);
    const restore = { seconds: round((performance.now() - started) / 1000, 2), bytesPerSegment: options.segmentMib * MiB };
    await tiered.close();

    const chunkBytes = 4 * MiB;
    const cold = passes[0]!;
    const bytesRatio = round(cold.bytesPerRead / restore.bytesPerSegment, 4);
    const targets = { bytesRatio: 1 / 20, p99Ms: 50 };
    return {
      backend: backend.name,
      segments: options.segments,
      segmentBytes: options.segmentMib * MiB,
      chunkBytes,
      passes,
      restore,
      bytesRatio,
      targets,
      pass: bytesRatio <= targets.bytesRatio && cold.p99Ms <= targets.p99Ms,
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Reads `offsets` one after another, each into a new buffer or, with `into`, into that one
 * buffer every time (as a broker sending each fetch's bytes before the next would).
 */
async function randomReads(tiered: TieredStorage, label: string, cacheBudgetMb: number, offsets: readonly number[], into?: Buffer): Promise<RandomReadPass> {
  const latencies: number[] = [];
  let bytes = 0;
  let requests = 0;
  let cacheHits = 0;
  for (const offset of offsets) {
    const started = performance.now();
    const result = await tiered.readAt('bench.reads', 0, offset, { into });
    latencies.push(performance.now() - started);
    if (result.source !== 'remote') throw new Error(`offset ${offset} was read from local disk: the bench reads archived segments only`);
    if (into && result.bytes.buffer !== into.buffer) throw new Error(`the read of offset ${offset} did not return its bytes in the lent buffer`);
    bytes += result.fetched.bytes;
    requests += result.fetched.requests;
    if (result.fetched.requests === 0) cacheHits++;
  }
  latencies.sort((a, b) => a - b);
  const at = (q: number) => round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!, 2);
  return {
    label,
    cacheBudgetMb,
    reads: offsets.length,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    maxMs: round(latencies.at(-1)!, 2),
    bytesPerRead: Math.round(bytes / offsets.length),
    requestsPerRead: round(requests / offsets.length, 2),
    cacheHits,
  };
}
