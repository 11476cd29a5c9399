import { describe, expect, it } from 'vitest';
import { judgeSpeedup } from '../dist/scenarios/checksum-throughput.js';
import { checkTargets } from '../dist/scenarios/throughput.js';
import { ratiosOf, type TransferCase } from '../dist/transfers/throughput.js';

const GiB = 1024 ** 3;

/** A client's 1 GiB s3 uploads at these MB/s, run by run. */
function caseOf(client: string, kind: TransferCase['kind'], mbps: number[]): TransferCase {
  const runs = mbps.map((megabytesPerSecond, i) => ({ run: i + 1, seconds: GiB / 1e6 / megabytesPerSecond, megabytesPerSecond, clientCpuSeconds: 1, loadAverage: 1 }));
  return {
    backend: 's3',
    shape: '1x1024MiB',
    direction: 'up',
    client,
    kind,
    label: client,
    concurrency: '4',
    bytes: GiB,
    files: 3,
    runs,
    megabytesPerSecond: { median: 0, min: 0, max: 0 },
    clientCpuSecondsPerGiB: 1,
  };
}

describe('ratios and targets', () => {
  it('pairs runs by number, and takes the median of an even count as the mean of the middle two', () => {
    const cases = [caseOf('pool', 'ours', [100, 300, 200, 400]), caseOf('sdk', 'sdk', [100, 100, 100, 100])];
    const [ratio] = ratiosOf(cases);
    expect(ratio).toMatchObject({ other: 'sdk', median: 2.5, min: 1, max: 4, exactMedian: 2.5 });
  });

  it('judges a target by the unrounded median: 0.996 misses 1.0, though two decimals show 1.00', () => {
    const pool = caseOf('pool', 'ours', [99.4, 99.8]);
    const mc = { ...caseOf('mc', 'mc', [100, 100]), megabytesPerSecond: { median: 100, min: 100, max: 100 } };
    const ratios = ratiosOf([pool, mc]);
    expect(ratios[0]).toMatchObject({ median: 1, exactMedian: expect.closeTo(0.996, 6) });
    const [target] = checkTargets([pool, mc], ratios, { crc32cSha256: 0.6, md5: 1.2 }, 2);
    expect(target).toMatchObject({ comparison: 'pool ÷ fastest other (mc)', target: 1, met: false, ratio: 0.996 });
    expect(target!.why).toBeDefined();
  });
});

describe('the pool checksum target (1.8× one thread)', () => {
  /** A round whose one-thread and pool runs took these seconds (sha256sum alike each round). */
  const round = (oneThread: number, pool: number) => {
    const run = (seconds: number) => ({ seconds: Math.round(seconds * 1000) / 1000, exactSeconds: seconds, gigabytesPerSecond: Math.round((1.07 / seconds) * 100) / 100, cpuSeconds: 1 });
    return { oneThread: run(oneThread), pool: run(pool), sha256sum: run(3) };
  };

  it('is judged by the unrounded median of the paired rounds: 1.797× misses, and shows three decimals', () => {
    // The 16:50 run's middle round: 0.857 s against 0.477 s, 1.25 and 2.25 GB/s rounded, 1.80× by those.
    const judged = judgeSpeedup([round(0.838, 0.52), round(0.857, 0.477), round(0.896, 0.458)]);
    expect(judged.pass).toBe(false);
    expect(judged.speedupRange.median).toBe(1.797);
  });

  it('meets it at or over 1.8×, printed to two decimals', () => {
    const judged = judgeSpeedup([round(0.9, 0.5), round(0.91, 0.49), round(0.95, 0.5)]);
    expect(judged.pass).toBe(true);
    expect(judged.speedupRange.median).toBe(1.86);
  });
});
