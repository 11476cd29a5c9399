import { monitorEventLoopDelay } from 'node:perf_hooks';
import { round } from '../numbers.js';

/** Event-loop delay while some work ran, in milliseconds. */
export interface EventLoopDelay {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
  samples: number;
}

/**
 * Runs `work` while `monitorEventLoopDelay` (1 ms resolution) watches the calling thread's event
 * loop, and returns how late its timers fired: the worker pool's measure (docs/ARCHITECTURE.md, "The worker pool").
 */
export async function measureEventLoopDelay<T>(work: () => Promise<T>): Promise<{ result: T; delay: EventLoopDelay }> {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  try {
    const result = await work();
    return { result, delay: summarize(histogram) };
  } finally {
    histogram.disable();
  }
}

function summarize(histogram: ReturnType<typeof monitorEventLoopDelay>): EventLoopDelay {
  const ms = (ns: number) => round(ns / 1e6, 2);
  return {
    p50Ms: ms(histogram.percentile(50)),
    p99Ms: ms(histogram.percentile(99)),
    maxMs: ms(histogram.max),
    meanMs: ms(histogram.mean),
    samples: histogram.count,
  };
}
