import { setFlagsFromString } from 'node:v8';

/**
 * Samples the process's live Buffer memory while `work` runs and returns the peak growth over
 * the baseline: what a store that held a whole object would pile up. Each sample forces a GC
 * (with `--expose-gc`) and reads `arrayBuffers` alone (Node's `external` already includes it).
 * V8 frees ArrayBuffers on a background sweeper, so sweeping is made synchronous for the
 * duration: otherwise right after a GC the counter still holds buffers already dead.
 */
export async function peakBufferGrowth<T>(work: () => Promise<T>, intervalMs = 10): Promise<{ result: T; peakGrowthBytes: number }> {
  setFlagsFromString('--no-concurrent-array-buffer-sweeping');
  const gc = (globalThis as { gc?: () => void }).gc;
  const live = () => {
    gc?.();
    return process.memoryUsage().arrayBuffers;
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
    setFlagsFromString('--concurrent-array-buffer-sweeping');
  }
}
