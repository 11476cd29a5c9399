import { describe, expect, it } from 'vitest';
import { explainMiss } from '../dist/transfers/target-bounds.js';
import type { TransferCase } from '../dist/transfers/throughput.js';
import type { ChecksumName } from '../dist/transfers/transfer-client.js';
import { measureVerificationCost } from '../dist/transfers/verification-cost.js';

const GiB = 1024 ** 3;
const COST = { crc32cSha256: 0.63, sha256: 0.5, md5: 1.33 };

/**
 * Three identical runs moving 1 GiB: `mbps` MB/s, `client` and `server` CPU-s (per GiB, so per
 * run), and, where given, every CPU's busy time as `machineCores` cores on average.
 */
function caseOf(client: string, mbps: number, cpu: { client: number; server?: number; machineCores?: number }, computes?: ChecksumName[]): TransferCase {
  const seconds = GiB / 1e6 / mbps;
  const machineCpuSeconds = cpu.machineCores === undefined ? undefined : cpu.machineCores * seconds;
  const runs = [1, 2, 3].map((run) => ({ run, seconds, megabytesPerSecond: mbps, clientCpuSeconds: cpu.client, serverCpuSeconds: cpu.server, machineCpuSeconds, loadAverage: 1 }));
  return {
    backend: 's3',
    shape: '64x16',
    direction: 'down',
    client,
    kind: client === 'pool' ? 'ours' : 'mc',
    label: client,
    concurrency: '4',
    computes,
    bytes: GiB,
    files: 192,
    runs,
    megabytesPerSecond: { median: mbps, min: mbps, max: mbps },
    clientCpuSecondsPerGiB: cpu.client,
    serverCpuSecondsPerGiB: cpu.server,
    serverCpuPercent: cpu.server === undefined ? undefined : Math.round((100 * cpu.server) / seconds),
  };
}

describe('explainMiss: what bounded a missed target, from the run’s own measurements', () => {
  // The 64 × 16 MiB download from MinIO of the 2026-11-26 12:49 run: ours 807 MB/s, mc 969
  // (client + server: 1.77 and 1.68 cores; the kernel's threads are counted in neither).
  const ours = caseOf('pool', 807, { client: 1.59, server: 0.77, machineCores: 1.93 }, ['CRC32C', 'SHA-256']);
  const mc = caseOf('mc', 969, { client: 1.18, server: 0.68, machineCores: 1.9 }, []);

  it('a CPU-bound run whose difference is the checksums the other skips: verification', () => {
    const why = explainMiss(ours, mc, COST, 2);
    expect(why.reasons).toEqual(['verification']);
    expect(why.ours.totalCpuSecondsPerGiB).toBe(2.36);
    expect(why.other.totalCpuSecondsPerGiB).toBe(1.86);
    expect(why.ours.coresBusy).toBe(1.93);
    expect(why.other.coresBusy).toBe(1.9);
    expect(why.skipped).toEqual(['CRC32C', 'SHA-256']);
    expect(why.skippedCpuSecondsPerGiB).toBe(0.63);
    expect(why.text).toContain('0.63 of ours is computing CRC32C + SHA-256, which mc does not.');
    expect(why.text).toContain('Without the checksums ours would spend 1.73');
  });

  it('credits nothing against a client whose checksums are not known', () => {
    const why = explainMiss(ours, caseOf('mc', 969, { client: 1.18, server: 0.68, machineCores: 1.9 }), COST, 2);
    expect(why.reasons).toEqual([]);
    expect(why.skipped).toBeUndefined();
    expect(why.text).not.toContain('computing');
  });

  it('a difference larger than the checksums is not put on them', () => {
    const heavier = caseOf('pool', 700, { client: 2.1, server: 0.77, machineCores: 1.95 }, ['CRC32C', 'SHA-256']);
    const why = explainMiss(heavier, mc, COST, 2);
    expect(why.reasons).toEqual([]);
    expect(why.text).toContain('Neither the checksums, the write-back nor the server account for the difference.');
  });

  it('a run that left cores idle is not CPU-bound, whatever the checksums', () => {
    const idle = caseOf('pool', 300, { client: 1.59, server: 0.77, machineCores: 0.8 }, ['CRC32C', 'SHA-256']);
    const other = caseOf('mc', 360, { client: 1.18, server: 0.68, machineCores: 0.75 }, []);
    expect(explainMiss(idle, other, COST, 2).reasons).toEqual([]);
  });

  it('without /proc/stat figures (older results) cores busy is client + server', () => {
    const legacy = explainMiss(caseOf('pool', 807, { client: 1.59, server: 0.77 }, ['CRC32C', 'SHA-256']), caseOf('mc', 969, { client: 1.18, server: 0.68 }, []), COST, 2);
    // 2.36 CPU-s per GiB at 807 MB/s, 1.86 at 969: 1.77 and 1.68 cores, under 0.85 × 2.
    expect(legacy.ours.coresBusy).toBeCloseTo((2.36 * 807e6) / GiB, 2);
    expect(legacy.other.coresBusy).toBeCloseTo((1.86 * 969e6) / GiB, 2);
    expect(legacy.reasons).toEqual([]);
  });

  it('a client that leaves its bytes to the write-back after its clock: write-back, when ours is faster until they are on disk', () => {
    // The same download of the 13:49 run: ours fsyncs inside its clock, mc leaves 0.76 s per run to the sync after it.
    const fsyncs = { ...ours, writeBackSeconds: 0.024, durableMegabytesPerSecond: 700.7 };
    const cached = { ...mc, writeBackSeconds: 0.76, durableMegabytesPerSecond: 540 };
    const why = explainMiss(fsyncs, cached, COST, 2);
    expect(why.reasons).toEqual(['verification', 'write-back']);
    expect(why.text).toContain('ours was the faster, 700.7 against 540 MB/s: mc left 0.76 s of write-back per run');
    // Slower than the other even counted to the disk: not the reason.
    expect(explainMiss(fsyncs, { ...cached, durableMegabytesPerSecond: 710 }, COST, 2).reasons).toEqual(['verification']);
    // A write-back too small to matter (under a tenth of the clock) is no reason, whatever the medians say.
    expect(explainMiss(fsyncs, { ...cached, writeBackSeconds: 0.09 }, COST, 2).reasons).toEqual(['verification']);
    // With the disk measured, the sentence says what each clock had the disk write.
    const measured = explainMiss({ ...fsyncs, diskWrittenPerByte: 1.01 }, { ...cached, diskWrittenPerByte: 0 }, COST, 2);
    expect(measured.text).toContain('within the clocks the disk wrote 1.01 and 0 bytes per byte moved.');
  });

  it('a server at a core or more, ours no costlier per GiB, cores idle: server', () => {
    // The 64 × 16 MiB upload to Azurite of the same run: ours 144.8 MB/s, the SDK 153.8.
    const azure = caseOf('pool', 144.8, { client: 3.11, server: 7.39, machineCores: 1.5 }, ['CRC32C', 'SHA-256', 'MD5']);
    const sdk = caseOf('sdk', 153.8, { client: 3.85, server: 7.61, machineCores: 1.6 }, []);
    const why = explainMiss(azure, sdk, COST, 2);
    expect(why.reasons).toEqual(['server']);
    expect(why.ours.serverCpuPercent).toBeGreaterThanOrEqual(100);
    expect(why.text).toContain('Ours spent no more CPU per GiB than sdk');
  });

  it('a server at a core or more with cores to spare: server, once our checksums are credited', () => {
    // The 64 × 16 MiB upload to Azurite of the 15:20 run: the SDK's default at 1.01× ours (target 1.1×).
    const azure = caseOf('pool', 186.5, { client: 3.03, server: 6.69, machineCores: 1.7 }, ['CRC32C', 'SHA-256', 'MD5']);
    const sdk = caseOf('sdk', 189.7, { client: 2.9, server: 6.28, machineCores: 1.64 }, []);
    const why = explainMiss(azure, sdk, { crc32cSha256: 0.78, md5: 1.33 }, 2);
    expect(why.reasons).toEqual(['server']);
    expect(why.text).toContain('Ours less its checksums spent no more CPU per GiB than sdk');
    // A client that computes the same checksums earns no credit, and 9.72 CPU-s per GiB against 9.18 explains nothing.
    const hashing = caseOf('sdk', 189.7, { client: 2.9, server: 6.28, machineCores: 1.64 }, ['CRC32C', 'SHA-256', 'MD5']);
    expect(explainMiss(azure, hashing, { crc32cSha256: 0.78, md5: 1.33 }, 2).reasons).toEqual([]);
  });

  it('credits MD5 alone, and the CRC32C + SHA-256 pair only when the other computes neither', () => {
    const azure = caseOf('pool', 800, { client: 3.0, server: 0.5, machineCores: 1.9 }, ['CRC32C', 'SHA-256', 'MD5']);
    const crcOnly = caseOf('rclone', 900, { client: 2.5, server: 0.5, machineCores: 1.9 }, ['CRC32C']);
    const why = explainMiss(azure, crcOnly, COST, 2);
    expect(why.skipped).toEqual(['MD5']);
    expect(why.skippedCpuSecondsPerGiB).toBe(1.33);
    expect(why.reasons).toEqual(['verification']);
  });

  it('credits SHA-256 alone to a download that computes no CRC32C, never against a client hashing SHA-256', () => {
    const download = caseOf('pool', 900, { client: 1.3, server: 0.7, machineCores: 1.9 }, ['SHA-256']);
    const why = explainMiss(download, caseOf('mc', 1000, { client: 1.2, server: 0.7, machineCores: 1.8 }, []), COST, 2);
    expect(why.skipped).toEqual(['SHA-256']);
    expect(why.skippedCpuSecondsPerGiB).toBe(0.5);
    expect(why.reasons).toEqual(['verification']);
    expect(explainMiss(download, caseOf('other', 1000, { client: 1.2, server: 0.7, machineCores: 1.8 }, ['SHA-256']), COST, 2).skipped).toBeUndefined();
    // Results from before `sha256` was measured: no credit rather than a guess.
    expect(explainMiss(download, caseOf('mc', 1000, { client: 1.2, server: 0.7, machineCores: 1.8 }, []), { crc32cSha256: 0.63, md5: 1.33 }, 2).skipped).toBeUndefined();
  });
});

describe('measureVerificationCost', () => {
  it('times core’s CRC32C + SHA-256, SHA-256 alone and MD5 on this thread, per GiB', () => {
    const cost = measureVerificationCost();
    // One core hashes at least 100 MB/s and at most 100 GB/s of each: CPU-s per GiB in between.
    for (const seconds of [cost.crc32cSha256, cost.sha256!, cost.md5]) {
      expect(seconds).toBeGreaterThan(GiB / 100e9);
      expect(seconds).toBeLessThan(GiB / 100e6);
    }
    // SHA-256 alone is part of the pair's work: never dearer (a tenth of slack for timing noise).
    expect(cost.sha256!).toBeLessThan(cost.crc32cSha256 * 1.1);
  });
});
