import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ArchiveEventLoopResult } from './scenarios/archive-event-loop.js';
import type { ChecksumThroughputResult } from './scenarios/checksum-throughput.js';
import type { ModelCostsResult } from './scenarios/model-costs.js';
import type { RemoteReadsResult } from './scenarios/remote-reads.js';
import type { PutMemoryResult } from './scenarios/put-memory.js';
import type { ThroughputResult } from './scenarios/throughput.js';
import type { UploadMemoryResult } from './scenarios/upload-memory.js';
import { renderThroughputSvg } from './throughput-chart.js';
import { renderThroughput } from './throughput-tables.js';

/** One bench run: where and how it ran, and what each scenario measured. */
export interface BenchReport {
  startedAt: string;
  command: string;
  backend: string;
  /** `loadAverage`: 1, 5 and 15 minute load when the run started; CPUs are shared with whatever else runs. */
  host: { cpus: number; node: string; platform: string; loadAverage: number[] };
  poolThreads: number;
  /** Ranged requests at once per pool download of a large object (1: one request). */
  downloadStreams: number;
  throughput?: ThroughputResult;
  archive?: ArchiveEventLoopResult;
  memory?: UploadMemoryResult;
  checksum?: ChecksumThroughputResult;
  model?: ModelCostsResult;
  reads?: RemoteReadsResult;
  putMemory?: PutMemoryResult;
}

const MiB = 1024 * 1024;
const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;
const verdict = (pass: boolean) => (pass ? 'pass' : '**FAIL**');
const cores = (run: { seconds: number; cpuSeconds?: number }) => (run.cpuSeconds === undefined ? '' : `${run.cpuSeconds} (${(run.cpuSeconds / run.seconds).toFixed(2)})`);

/** The report as a Markdown page: one table per scenario, pool beside its baseline. */
export function renderMarkdown(report: BenchReport): string {
  const lines = [
    `# Takhin bench — ${report.backend} — ${report.startedAt}`,
    '',
    `\`${report.command}\` on ${report.host.cpus} CPUs (load average ${report.host.loadAverage.join(', ')} at start), Node ${report.host.node}, ${report.poolThreads} pool threads, ${report.downloadStreams} download stream(s) per large object.`,
    '',
  ];
  const { archive, memory, checksum, model, reads, putMemory, throughput } = report;
  if (throughput) lines.push(...renderThroughput(throughput));
  if (putMemory) {
    lines.push(
      `## One ${mib(putMemory.bytes)} streamed put on the main thread: peak memory growth`,
      '',
      `Part size ${mib(putMemory.partSize)}; the store's memory bound (part size × (parts in flight + 1)) ${mib(putMemory.memoryBoundBytes)}.`,
      '',
      '| source | sampled | RSS | array buffers | JS heap | seconds |',
      '| --- | --- | ---: | ---: | ---: | ---: |',
      ...putMemory.runs.flatMap((run) => [
        `| ${run.source} | as is | ${mib(run.growth.rssBytes)} | ${mib(run.growth.arrayBuffersBytes)} | ${mib(run.growth.heapUsedBytes)} | ${run.seconds} |`,
        `| ${run.source} | after a forced GC (live) | ${mib(run.liveGrowth.rssBytes)} | ${mib(run.liveGrowth.arrayBuffersBytes)} | ${mib(run.liveGrowth.heapUsedBytes)} | |`,
      ]),
      '',
    );
  }
  if (archive) {
    lines.push(
      `## Archive ${archive.pool.files} files (${mib(archive.pool.bytes)}): main-thread event-loop delay`,
      '',
      '| run | p50 ms | p99 ms | max ms | MB/s | seconds |',
      '| --- | ---: | ---: | ---: | ---: | ---: |',
      ...(['pool', 'mainThread'] as const).map((mode) => {
        const run = archive[mode];
        const label = mode === 'pool' ? 'TransferPool' : 'main thread (same code)';
        return `| ${label} | ${run.eventLoop.p50Ms} | ${run.eventLoop.p99Ms} | ${run.eventLoop.maxMs} | ${run.megabytesPerSecond} | ${run.seconds} |`;
      }),
      '',
      `Pool p99 under ${archive.p99LimitMs} ms: ${verdict(archive.pass)}`,
      '',
    );
  }
  if (memory) {
    lines.push(
      `## Upload one ${mib(memory.fileBytes)} file through the pool: process RSS`,
      '',
      '| baseline | peak | growth | limit | event-loop p99 ms | seconds |',
      '| ---: | ---: | ---: | ---: | ---: | ---: |',
      `| ${mib(memory.rss.baselineBytes)} | ${mib(memory.rss.peakBytes)} | ${mib(memory.rss.growthBytes)} | ${mib(memory.growthLimitBytes)} | ${memory.eventLoop.p99Ms} | ${memory.seconds} |`,
      '',
      `RSS growth under the limit: ${verdict(memory.pass)}`,
      '',
    );
  }
  if (checksum) {
    const gbps = (contender: 'oneThread' | 'pool' | 'sha256sum') => {
      const values = checksum.runs.map((r) => r[contender].gigabytesPerSecond);
      return values.length > 1 ? `${checksum[contender].gigabytesPerSecond} (${Math.min(...values)}–${Math.max(...values)})` : `${checksum[contender].gigabytesPerSecond}`;
    };
    const { speedupRange: range } = checksum;
    lines.push(
      `## Checksum (CRC32C + SHA-256) ${checksum.files} files (${mib(checksum.bytes)}), median of ${checksum.runs.length} round${checksum.runs.length === 1 ? '' : 's'}`,
      '',
      '| run | GB/s (min–max) | seconds | CPU-s (cores busy) |',
      '| --- | ---: | ---: | ---: |',
      `| one thread (CRC32C + SHA-256, reading on the same thread, as each pool thread does) | ${gbps('oneThread')} | ${checksum.oneThread.seconds} | ${cores(checksum.oneThread)} |`,
      `| TransferPool, ${checksum.poolThreads} threads, ${checksum.poolChecksums} hashing at once (CRC32C + SHA-256) | ${gbps('pool')} | ${checksum.pool.seconds} | ${cores(checksum.pool)} |`,
      `| sha256sum (SHA-256 only, one process) | ${gbps('sha256sum')} | ${checksum.sha256sum.seconds} | ${cores(checksum.sha256sum)} |`,
      '',
      `Pool ÷ one thread, paired round by round: ${checksum.speedup}×${range.min === range.max ? '' : ` (${range.min}–${range.max})`} (target ≥ ${checksum.target}×: ${verdict(checksum.pass)}).` +
        ` Pool ÷ sha256sum: ${checksum.poolVsSha256sum}×; one thread ÷ sha256sum: ${checksum.oneThreadVsSha256sum}×.`,
      '',
    );
  }
  if (model) {
    const { seed, targets } = model;
    const cost = (c: { hotNs: number; randomNs: number }) => `${c.hotNs} / ${c.randomNs}`;
    lines.push(
      '## The tiering model: nanoseconds per call, one segment again / a random one each call',
      '',
      'Median of 7 loops of 65 536 calls. "One segment again" is what the seed\'s Go benchmarks time (everything in CPU cache); "random" spreads calls over every segment, so from 10^5 up each call waits on memory: compare it with a bare `Map.get` of the same keys.',
      '',
      '| segments | partitions | getSegment | bare Map.get | findSegment | policy decision | getStats | reopen ms |',
      '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...model.runs.map((r) => `| ${r.segments} | ${r.partitions} | ${cost(r.lookup)} | ${cost(r.bareMap)} | ${cost(r.findSegment)} | ${cost(r.policyDecision)} | ${r.getStatsNs} | ${r.reopenMs} |`),
      `| target at the largest size | | ≤ ${targets.lookupNs} | | | ≤ ${targets.policyDecisionNs} | ≤ ${targets.getStatsNs} | < ${targets.reopenMs} |`,
      `| the seed (Go, small N) | | ${seed.lookupNs} | | | ${seed.policyDecisionNs} | ${seed.getStatsNs} | |`,
      '',
      `Targets met at the largest size (one segment again, as the seed measures): ${verdict(model.pass)}`,
      '',
    );
  }
  if (reads) {
    const perRestore = mib(reads.restore.bytesPerSegment);
    lines.push(
      `## Random reads by offset from ${reads.segments} archived segments of ${mib(reads.segmentBytes)} on ${reads.backend} (readAt, nothing restored)`,
      '',
      '| pass | reads | p50 ms | p99 ms | max ms | fetched per read | requests per read | served by the cache |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...reads.passes.map((p) => `| ${p.label} | ${p.reads} | ${p.p50Ms} | ${p.p99Ms} | ${p.maxMs} | ${mib(p.bytesPerRead)} | ${p.requestsPerRead} | ${p.cacheHits} |`),
      '',
      `Restoring each segment whole instead: ${perRestore} per segment, ${reads.restore.seconds} s for all ${reads.segments}.`,
      `A random read fetches ${reads.bytesRatio} of a whole-segment restore (target ≤ ${reads.targets.bytesRatio}); p99 target ${reads.targets.p99Ms} ms: ${verdict(reads.pass)}`,
      '',
    );
  }
  return lines.join('\n');
}

/** Writes `<stamp>-<backend>.json`, `.md` and, with throughput, `.svg` under `dir`; returns the paths. */
export async function writeReport(dir: string, report: BenchReport): Promise<{ json: string; markdown: string; svg?: string | undefined }> {
  await mkdir(dir, { recursive: true });
  const base = join(dir, `${report.startedAt.replace(/[:.]/g, '-')}-${report.backend}`);
  const paths = { json: `${base}.json`, markdown: `${base}.md`, svg: report.throughput ? `${base}.svg` : undefined };
  await writeFile(paths.json, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(paths.markdown, renderMarkdown(report));
  if (report.throughput && paths.svg) {
    const title = `Takhin bench ${report.startedAt}: ${report.host.cpus} CPUs, load ${report.host.loadAverage.join(' / ')} at start`;
    await writeFile(paths.svg, renderThroughputSvg(report.throughput, title));
  }
  return paths;
}
