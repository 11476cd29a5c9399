/**
 * Samples the process's live buffer memory (`arrayBuffers` + `external`, after a forced GC
 * when `--expose-gc` is on) while `work` runs, and returns the peak growth over the baseline.
 * Buffers are what a store that held a whole object would pile up.
 */
export async function peakBufferGrowth<T>(work: () => Promise<T>, intervalMs = 10): Promise<{ result: T; peakGrowthBytes: number }> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const live = () => {
    gc?.();
    const usage = process.memoryUsage();
    return usage.arrayBuffers + usage.external;
  };
  const baseline = live();
  let peak = baseline;
  const timer = setInterval(() => {
    peak = Math.max(peak, live());
  }, intervalMs);
  try {
    const result = await work();
    peak = Math.max(peak, live());
    return { result, peakGrowthBytes: Math.max(0, peak - baseline) };
  } finally {
    clearInterval(timer);
  }
}
