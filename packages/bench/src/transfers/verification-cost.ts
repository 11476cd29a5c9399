import { createHash, randomFillSync } from 'node:crypto';
import { ChecksumAccumulator, type ChecksumAccumulatorOptions } from '@takhin/core';
import { round } from '../numbers.js';

/**
 * CPU seconds per GiB the checksums ours computes cost on one thread of this machine, hashing
 * bytes already in memory (what the pool's workers do with the bytes they move):
 * `crc32cSha256` is core's accumulator (both digests: every upload), `sha256` the same without
 * its CRC32C (a download verified against both recorded checksums compares the SHA-256 alone),
 * `md5` what the Azure driver adds on uploads (Content-MD5 per request, the only check Azure
 * makes of the bytes).
 */
export interface VerificationCost {
  crc32cSha256: number;
  /** Absent in results from before downloads left CRC32C out. */
  sha256?: number | undefined;
  md5: number;
}

const GiB = 1024 ** 3;
/** The size of the pool's read and download batches. */
const PIECE = 1 << 20;
/** Hashed per digest: enough for a steady figure (about half a second). */
const BYTES = 256 * (1 << 20);

export function measureVerificationCost(): VerificationCost {
  const piece = randomFillSync(Buffer.allocUnsafe(PIECE));
  /** Core's accumulator over `BYTES`, with or without its CRC32C. */
  const accumulated = (options: ChecksumAccumulatorOptions) => () => {
    const sums = new ChecksumAccumulator(options);
    for (let done = 0; done < BYTES; done += PIECE) sums.update(piece);
    sums.digests();
  };
  const crc32cSha256 = cpuSecondsPerGiB(accumulated({}));
  const sha256 = cpuSecondsPerGiB(accumulated({ crc32c: false }));
  const md5 = cpuSecondsPerGiB(() => {
    const hash = createHash('md5');
    for (let done = 0; done < BYTES; done += PIECE) hash.update(piece);
    hash.digest();
  });
  return { crc32cSha256, sha256, md5 };
}

/** This thread's CPU time for `work` (which hashes `BYTES`), per GiB. */
function cpuSecondsPerGiB(work: () => void): number {
  work(); // first pass: code paths and buffers warm
  const before = process.threadCpuUsage();
  work();
  const used = process.threadCpuUsage(before);
  return round(((used.user + used.system) / 1e6) * (GiB / BYTES), 3);
}
