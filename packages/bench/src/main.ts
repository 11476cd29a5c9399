import { existsSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { defaultPoolThreads, DEFAULT_DOWNLOAD_STREAMS, TransferPool } from '@takhin/core';
import { backendName, parseBackends, parseShapes, positiveInteger, UsageError } from './args.js';
import { BENCH_BACKENDS, openBenchBackend, tieredSection, type BenchBackend } from './bench-backend.js';
import { renderMarkdown, writeReport, type BenchReport } from './bench-report.js';
import { BenchServices, REPO_ROOT, SERVICE_OF } from './bench-services.js';
import { diskShortfall, freeBytes, throughputDiskNeed } from './disk-space.js';
import { benchArchiveEventLoop } from './scenarios/archive-event-loop.js';
import { benchChecksumThroughput } from './scenarios/checksum-throughput.js';
import { benchModelCosts } from './scenarios/model-costs.js';
import { benchPutMemory } from './scenarios/put-memory.js';
import { benchRemoteReads } from './scenarios/remote-reads.js';
import { benchUploadMemory } from './scenarios/upload-memory.js';
import { generateSegments, type SegmentCorpus } from './segment-corpus.js';
import { round } from './numbers.js';

const USAGE = `usage: npm run bench -- [all|throughput|archive|memory|checksum|model|reads|put-memory] [options]
  throughput: upload and download MB/s of both file shapes on every backend, ours (TransferPool,
    archiveSegment/restoreSegment) beside rclone, mc and each SDK's default, with ratios
  put-memory (not part of all): one streamed put on the main thread, peak memory by kind
  --quick           small sizes and one run of each (a smoke run, under three minutes)
  --backends L      throughput's backends (default fs,s3,minio,gcs,azure)
  --shapes L        throughput's file shapes, COUNTxMIB (default 1x1024,64x16)
  --runs N          throughput runs per case (default 5; the median, min and max are reported), and checksum
                    rounds, at least 7 (each takes about a second, a noisy moment moves one by a tenth)
  --backend fs|s3|minio|gcs|azure   where archive, memory and reads go (default fs, under the OS temp dir)
  --files N         segments for archive and checksum (default 8)
  --file-mib M      size of each, MiB (default 128)
  --big-mib M       the memory scenario's single file, MiB (default 1024)
  --put-mib M       the put-memory scenario's body, MiB (default 2048)
  --threads N       pool threads (default the pool's own: two per core)
  --download-streams N  ranged requests at once per pool download of 128 MiB or more (default the pool's own: 1)
  --bucket NAME     bucket or container for remote backends
  --config JSON     the backend's config outright, instead of .services/env
  --model-sizes L   segment counts for the model's costs (default 1000,100000,1000000)
  --reads N         random offsets read from archived segments (default 1000)
  --read-segments N archived segments they are spread over (default 4)
  --read-segment-mib M  size of each, MiB (default 256)
  --out DIR         results folder (default packages/bench/results)`;

/** Checksum rounds of a full run, whatever `--runs` says: the verdict is their median speed-up. */
const MIN_CHECKSUM_ROUNDS = 7;

const SCENARIOS = ['all', 'throughput', 'archive', 'memory', 'checksum', 'model', 'reads', 'put-memory'] as const;

/**
 * `--quick`: every scenario at a size that runs in seconds; explicit options still win. Its
 * fixed costs (process starts, syncs, the checks after every clock) dominate: with 1 × 64 MiB and
 * 16 × 4 MiB, and the model at 10^5, a machine running at half its speed took 4 min 50 s and
 * 6 min 17 s (2026-11-27 22:20 and 22:26).
 */
const QUICK = {
  shapes: '1x32,16x2',
  runs: '1',
  files: '4',
  'file-mib': '64',
  'big-mib': '256',
  'model-sizes': '1000,10000',
  reads: '100',
  'read-segments': '2',
  'read-segment-mib': '128',
} as const;

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      quick: { type: 'boolean' },
      backends: { type: 'string', default: BENCH_BACKENDS.join(',') },
      shapes: { type: 'string' },
      runs: { type: 'string' },
      backend: { type: 'string', default: 'fs' },
      files: { type: 'string' },
      'file-mib': { type: 'string' },
      'big-mib': { type: 'string' },
      'put-mib': { type: 'string', default: '2048' },
      threads: { type: 'string' },
      'download-streams': { type: 'string' },
      bucket: { type: 'string' },
      config: { type: 'string' },
      'model-sizes': { type: 'string' },
      reads: { type: 'string' },
      'read-segments': { type: 'string' },
      'read-segment-mib': { type: 'string' },
      out: { type: 'string', default: fileURLToPath(new URL('../results/', import.meta.url)) },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const scenario = (positionals[0] ?? 'all') as (typeof SCENARIOS)[number];
  if (!SCENARIOS.includes(scenario)) throw new UsageError(`unknown scenario ${JSON.stringify(positionals[0])} (choose from ${SCENARIOS.join(', ')})`);
  if (positionals.length > 1) throw new UsageError(`one scenario at a time, got ${positionals.map((p) => JSON.stringify(p)).join(' ')}`);
  const backends = parseBackends(values.backends);
  const backendChoice = backendName('--backend', values.backend);
  const rawConfig = values.config === undefined ? undefined : parseJson('--config', values.config);
  const option = (name: keyof typeof QUICK, full: string) => values[name] ?? (values.quick ? QUICK[name] : full);
  const files = positiveInteger('--files', option('files', '8'), 64);
  const fileMib = positiveInteger('--file-mib', option('file-mib', '128'), 4096);
  const bigMib = positiveInteger('--big-mib', option('big-mib', '1024'), 8192);
  const putMib = positiveInteger('--put-mib', values['put-mib'], 8192);
  const runs = positiveInteger('--runs', option('runs', '5'), 99);
  const checksumRounds = values.quick ? runs : Math.max(runs, MIN_CHECKSUM_ROUNDS);
  const shapes = parseShapes(option('shapes', '1x1024,64x16'));
  const threads = values.threads === undefined ? defaultPoolThreads() : positiveInteger('--threads', values.threads, 256);
  const downloadStreams = positiveInteger('--download-streams', values['download-streams'] ?? String(DEFAULT_DOWNLOAD_STREAMS), 16);
  // Checked here, before any server starts or scenario runs, like every option above.
  const modelSizes = option('model-sizes', '1000,100000,1000000').split(',').map((size) => positiveInteger('--model-sizes', size, 10_000_000));
  const readOptions = {
    reads: positiveInteger('--reads', option('reads', '1000'), 1_000_000),
    segments: positiveInteger('--read-segments', option('read-segments', '4'), 64),
    segmentMib: positiveInteger('--read-segment-mib', option('read-segment-mib', '256'), 4096),
  };

  const wants = (name: (typeof SCENARIOS)[number]) => (scenario === 'all' && name !== 'put-memory') || scenario === name;
  const services = new BenchServices();
  if (wants('throughput')) {
    // The servers' data (under the repository) and the corpus (the temp folder) share one disk here; the fuller is checked.
    const where = [join(REPO_ROOT, '.services'), tmpdir()].map((path) => ({ path, free: freeBytes(existingAncestor(path)) })).sort((a, b) => a.free - b.free)[0]!;
    // An Azurite the bench starts it also restarts, empty, before every run; one already running it leaves alone.
    const restartsAzurite = backends.includes('azure') && !(await services.isRunning('azurite'));
    const short = diskShortfall(throughputDiskNeed(backends, shapes, runs, { restartsAzurite }), where.free, where.path);
    if (short) throw new DiskSpaceError(short);
  }
  const needsBackend = ['archive', 'memory', 'reads', 'put-memory'].some((name) => wants(name as (typeof SCENARIOS)[number]));
  let backend: BenchBackend | undefined;
  const pool = new TransferPool({ maxThreads: threads, minThreads: threads, downloadStreams });
  const corpora: SegmentCorpus[] = [];
  const report: BenchReport = {
    startedAt: new Date().toISOString(),
    command: ['node', relative(process.cwd(), process.argv[1] ?? 'main.js'), ...argv].join(' '),
    backend: scenario === 'throughput' ? backends.join('+') : values.backend,
    host: {
      cpus: availableParallelism(),
      node: process.versions.node,
      platform: process.platform,
      loadAverage: loadavg().map((load) => round(load, 2)),
    },
    poolThreads: threads,
    downloadStreams,
  };
  try {
    if (needsBackend) {
      const service = SERVICE_OF[values.backend];
      if (service && values.config === undefined) await services.ensure([service]);
      backend = await openBenchBackend(backendChoice, {
        bucket: values.bucket,
        rawConfig,
      });
    }
    if (wants('put-memory') && backend) {
      log(`put-memory: one ${putMib} MiB streamed put through the ${backend.name} store`);
      report.putMemory = await benchPutMemory(backend, putMib * 1024 * 1024);
    }
    // First, while the process is fresh: earlier runs leave freed memory resident, hiding growth.
    if (wants('memory') && backend) {
      log(`memory: generating one ${bigMib} MiB segment`);
      const big = await generateSegments('big', 1, bigMib);
      corpora.push(big);
      log('memory: uploading it through the pool');
      report.memory = await benchUploadMemory(pool, backend, big);
    }
    if (wants('model')) {
      log(`model: lookup, findSegment, policy decision, stats and reopen at ${modelSizes.join(', ')} segments`);
      report.model = await benchModelCosts(modelSizes);
    }
    if (wants('reads') && backend) {
      log(`reads: ${readOptions.reads} random offsets from ${readOptions.segments} archived segments of ${readOptions.segmentMib} MiB on ${backend.name}`);
      const section = tieredSection(backend, `${backend.runPrefix}/reads`);
      report.reads = await benchRemoteReads({ name: backend.name, provider: backend.provider, section }, readOptions);
    }
    if (wants('archive') || wants('checksum')) {
      log(`generating ${files} segments of ${fileMib} MiB`);
      const corpus = await generateSegments('segments', files, fileMib);
      corpora.push(corpus);
      // Starts every thread and loads the backend in each, so no run pays for warm-up.
      await Promise.all(corpus.files.map((file) => pool.checksumFile(file.path)));
      if (wants('archive') && backend) {
        log('archive: through the pool, then on the main thread');
        report.archive = await benchArchiveEventLoop(pool, backend, corpus);
      }
      if (wants('checksum')) {
        log(`checksum: one thread, the pool and sha256sum, ${checksumRounds} round(s)`);
        report.checksum = await benchChecksumThroughput(pool, corpus, checksumRounds);
      }
    }
    // Last: its gigabytes leave the process's heap and the page cache large, which would hide
    // the memory scenario's growth and slow the model's reopen.
    if (wants('throughput')) {
      log(`throughput: ${backends.join(', ')}; shapes ${shapes.map(([c, m]) => `${c}×${m} MiB`).join(', ')}; ${runs} run(s) each`);
      // Imported here: its clients load every SDK, which the scenarios before it need not carry (docs/ARCHITECTURE.md, "Packages and who imports whom").
      const { benchThroughput } = await import('./scenarios/throughput.js');
      report.throughput = await benchThroughput(pool, { backends, shapes, runs, services, log });
    }
  } finally {
    await pool.close();
    await Promise.allSettled(corpora.map((corpus) => corpus.remove()));
    await backend?.cleanup();
    await services.stopStarted();
  }
  const paths = await writeReport(values.out, report);
  console.log(renderMarkdown(report));
  log(`wrote ${paths.json}, ${paths.markdown}${paths.svg ? ` and ${paths.svg}` : ''}`);
  const failed = [report.archive, report.memory, report.model, report.reads].some((result) => result && !result.pass);
  // A quick run is a smoke run: its sizes are too small (and its one run too noisy) to judge targets by.
  if (failed && values.quick) log('quick run: a target above was missed; targets are judged on a full run (npm run bench), not at these sizes');
  else if (failed) process.exitCode = 1;
}

function parseJson(flag: string, raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch (error) {
    throw new UsageError(`${flag} is not JSON: ${(error as Error).message}`);
  }
}

/** Not enough free disk for the run asked for: said before anything runs (exit 2). */
class DiskSpaceError extends Error {
  override name = 'DiskSpaceError';
}

/** `path`, or the nearest folder above it that exists (`.services` before any server has started). */
function existingAncestor(path: string): string {
  return existsSync(path) ? path : existingAncestor(dirname(path));
}

function log(message: string): void {
  console.error(`[bench] ${message}`);
}

try {
  await main(process.argv.slice(2));
} catch (error) {
  // Not enough disk, or a bad option (ours, or one parseArgs does not know): the caller's to fix.
  // Say which, not where in the bench it was found; the usage only for an option.
  const usage = error instanceof UsageError || (error as { code?: unknown }).code?.toString().startsWith('ERR_PARSE_ARGS_') === true;
  if (!usage && !(error instanceof DiskSpaceError)) throw error;
  console.error(`[bench] ${(error as Error).message}${usage ? `\n\n${USAGE}` : ''}`);
  process.exitCode = 2;
}
