import { uploadLocalFile, type TransferPool } from '@takhin/core';
import type { BenchBackend } from '../bench-backend.js';
import { measureEventLoopDelay, type EventLoopDelay } from '../probes/event-loop-probe.js';
import type { SegmentCorpus } from '../segment-corpus.js';
import { round } from '../numbers.js';

export interface ArchiveRun {
  files: number;
  bytes: number;
  seconds: number;
  megabytesPerSecond: number;
  eventLoop: EventLoopDelay;
}

export interface ArchiveEventLoopResult {
  pool: ArchiveRun;
  mainThread: ArchiveRun;
  /** The worker pool's bound for the pool run's p99 delay (docs/ARCHITECTURE.md, "The worker pool"). */
  p99LimitMs: number;
  pass: boolean;
}

const P99_LIMIT_MS = 10;

/**
 * Archives every file of the corpus to the backend, all at once, twice: through the pool, then
 * on the main thread (`uploadLocalFile`, the very code the workers run), watching the main
 * thread's event-loop delay both times.
 */
export async function benchArchiveEventLoop(pool: TransferPool, backend: BenchBackend, corpus: SegmentCorpus): Promise<ArchiveEventLoopResult> {
  const key = (mode: string, segmentPath: string) => `${backend.runPrefix}/archive-${mode}/${segmentPath}`;
  const pooled = await timed(corpus, () =>
    Promise.all(corpus.files.map((file) => pool.uploadFile(file.path, key('pool', file.segmentPath), backend.target))),
  );
  const mainThread = await timed(corpus, () =>
    Promise.all(corpus.files.map((file) => uploadLocalFile(backend.store, file.path, key('main', file.segmentPath)))),
  );
  return { pool: pooled, mainThread, p99LimitMs: P99_LIMIT_MS, pass: pooled.eventLoop.p99Ms < P99_LIMIT_MS };
}

async function timed(corpus: SegmentCorpus, work: () => Promise<unknown>): Promise<ArchiveRun> {
  const started = performance.now();
  const { delay } = await measureEventLoopDelay(work);
  const seconds = (performance.now() - started) / 1000;
  return {
    files: corpus.files.length,
    bytes: corpus.totalBytes,
    seconds: round(seconds, 2),
    megabytesPerSecond: round(corpus.totalBytes / 1e6 / seconds, 2),
    eventLoop: delay,
  };
}
