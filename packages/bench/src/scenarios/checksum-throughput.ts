import { checksumLocalFile, type TransferPool } from '@takhin/core';
import type { SegmentCorpus } from '../segment-corpus.js';

export interface ChecksumRun {
  seconds: number;
  gigabytesPerSecond: number;
}

export interface ChecksumThroughputResult {
  files: number;
  bytes: number;
  poolThreads: number;
  oneThread: ChecksumRun;
  pool: ChecksumRun;
  /** pool ÷ one thread, from the same run. */
  speedup: number;
}

/**
 * CRC32C + SHA-256 over the same files: one after another on this thread, then all at once
 * through the pool. A first pool pass warms the page cache, so both runs read from memory and
 * measure hashing, not the disk.
 */
export async function benchChecksumThroughput(pool: TransferPool, corpus: SegmentCorpus): Promise<ChecksumThroughputResult> {
  const pooled = () => Promise.all(corpus.files.map((file) => pool.checksumFile(file.path)));
  const reference = await pooled();
  const oneThread = await timed(corpus.totalBytes, async () => {
    for (const [i, file] of corpus.files.entries()) {
      const sums = await checksumLocalFile(file.path);
      if (sums.sha256 !== reference[i]?.sha256) throw new Error(`checksums of ${file.path} differ between runs`);
    }
  });
  const poolRun = await timed(corpus.totalBytes, pooled);
  return {
    files: corpus.files.length,
    bytes: corpus.totalBytes,
    poolThreads: pool.threads,
    oneThread,
    pool: poolRun,
    speedup: Math.round((poolRun.gigabytesPerSecond / oneThread.gigabytesPerSecond) * 100) / 100,
  };
}

async function timed(bytes: number, work: () => Promise<unknown>): Promise<ChecksumRun> {
  const started = performance.now();
  await work();
  const seconds = (performance.now() - started) / 1000;
  return { seconds: Math.round(seconds * 1000) / 1000, gigabytesPerSecond: Math.round((bytes / 1e9 / seconds) * 100) / 100 };
}
