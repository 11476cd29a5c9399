import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { checksumLocalFile, type TransferPool } from '@takhin/core';
import { startCpuProbe } from '../probes/cpu-probe.js';
import type { SegmentCorpus } from '../segment-corpus.js';
import { round } from '../numbers.js';

export interface ChecksumRun {
  seconds: number;
  gigabytesPerSecond: number;
  /** CPU seconds of this process (every thread, libuv's included) and its children: cores used = cpuSeconds ÷ seconds. */
  cpuSeconds: number;
}

export interface ChecksumThroughputResult {
  files: number;
  bytes: number;
  poolThreads: number;
  oneThread: ChecksumRun;
  pool: ChecksumRun;
  /** coreutils `sha256sum` over the same files (SHA-256 only, one process, one file after another). */
  sha256sum: ChecksumRun;
  /** pool ÷ one thread, from the same run. */
  speedup: number;
  /** pool ÷ sha256sum, and one thread ÷ sha256sum. */
  poolVsSha256sum: number;
  oneThreadVsSha256sum: number;
  /** The bar for `speedup`. */
  target: number;
}

const run = promisify(execFile);

/**
 * CRC32C + SHA-256 over the same files: one after another on this thread, then all at once
 * through the pool, then SHA-256 alone with coreutils' `sha256sum`. A first pool pass warms the
 * page cache, so every run reads from memory and measures hashing, not the disk.
 */
export async function benchChecksumThroughput(pool: TransferPool, corpus: SegmentCorpus): Promise<ChecksumThroughputResult> {
  const pooled = () => Promise.all(corpus.files.map((file) => pool.checksumFile(file.path)));
  const reference = await pooled();
  const oneThread = await timed(corpus.totalBytes, async () => {
    for (const [i, file] of corpus.files.entries()) {
      const sums = await checksumLocalFile(file.path, { readOnThisThread: true });
      if (sums.sha256 !== reference[i]?.sha256) throw new Error(`checksums of ${file.path} differ between runs`);
    }
  });
  const poolRun = await timed(corpus.totalBytes, pooled);
  const sha256sum = await timed(corpus.totalBytes, async () => {
    const { stdout } = await run('sha256sum', corpus.files.map((file) => file.path), { maxBuffer: 1 << 20 });
    const digests = stdout.trim().split('\n').map((line) => line.split(' ')[0]);
    if (digests.some((digest, i) => digest !== reference[i]?.sha256)) throw new Error('sha256sum and the pool disagree on a digest');
  });
  const ratio = (a: ChecksumRun, b: ChecksumRun) => round(a.gigabytesPerSecond / b.gigabytesPerSecond, 2);
  return {
    files: corpus.files.length,
    bytes: corpus.totalBytes,
    poolThreads: pool.threads,
    oneThread,
    pool: poolRun,
    sha256sum,
    speedup: ratio(poolRun, oneThread),
    poolVsSha256sum: ratio(poolRun, sha256sum),
    oneThreadVsSha256sum: ratio(oneThread, sha256sum),
    target: 1.8,
  };
}

async function timed(bytes: number, work: () => Promise<unknown>): Promise<ChecksumRun> {
  // What earlier scenarios left dirty is written back now, not by kernel threads competing
  // with this run for the two cores (the throughput runs do the same).
  await run('sync');
  const probe = startCpuProbe();
  const started = performance.now();
  await work();
  const seconds = (performance.now() - started) / 1000;
  const cpu = probe();
  return {
    seconds: round(seconds, 3),
    gigabytesPerSecond: round(bytes / 1e9 / seconds, 2),
    cpuSeconds: round(cpu.processSeconds + cpu.childSeconds, 2),
  };
}
