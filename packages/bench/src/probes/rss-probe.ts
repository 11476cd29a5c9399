/** Resident memory of the whole process (main thread and every worker) during some work. */
export interface RssGrowth {
  baselineBytes: number;
  peakBytes: number;
  growthBytes: number;
  samples: number;
}

/**
 * Samples `process.memoryUsage.rss()` every `intervalMs` while `work` runs. Workers are threads
 * of this process, so their buffers count too.
 */
export async function measureRssGrowth<T>(work: () => Promise<T>, intervalMs = 10): Promise<{ result: T; rss: RssGrowth }> {
  const baselineBytes = process.memoryUsage.rss();
  let peakBytes = baselineBytes;
  let samples = 0;
  const sample = () => {
    peakBytes = Math.max(peakBytes, process.memoryUsage.rss());
    samples++;
  };
  const timer = setInterval(sample, intervalMs);
  try {
    const result = await work();
    sample();
    return { result, rss: { baselineBytes, peakBytes, growthBytes: peakBytes - baselineBytes, samples } };
  } finally {
    clearInterval(timer);
  }
}
