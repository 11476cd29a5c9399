import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { uploadLocalFile } from '@takhin/core';
import type { BenchBackend } from '../bench-backend.js';

/** Peak growth over the baseline of each figure `process.memoryUsage()` reports. */
export interface MemoryGrowth {
  rssBytes: number;
  /** Buffers and other ArrayBuffer memory (part buffers, source chunks, socket buffers). */
  arrayBuffersBytes: number;
  /** The JS heap (objects, closures, promise chains). */
  heapUsedBytes: number;
}

/** One put, and the memory it took. */
export interface PutMemoryRun {
  /** `stream`: a Readable of fresh 1 MiB buffers; `file`: a local file (read straight into part buffers). */
  source: 'stream' | 'file';
  seconds: number;
  /** Peak growth of each figure during the put. */
  growth: MemoryGrowth;
  /** The same, sampled right after a forced GC: what is live, not what waits for collection. */
  liveGrowth: MemoryGrowth;
  samples: number;
}

export interface PutMemoryResult {
  bytes: number;
  partSize: number;
  /** What the store reports: partSize × (parts in flight + 1). */
  memoryBoundBytes: number;
  runs: PutMemoryRun[];
}

const MiB = 1024 * 1024;

/**
 * Streamed puts of `bytes` through the backend's store on this thread, with its defaults: one
 * from a stream of fresh 1 MiB buffers (as a caller's stream hands them out), one from a local
 * file (sparse, so it costs no disk). Memory is sampled every 10 ms, as is and right after a
 * forced GC (with ArrayBuffers swept at once), so garbage waiting for V8 and memory held live
 * are told apart: where a 2 GiB put's memory goes beyond the part buffers.
 */
export async function benchPutMemory(backend: BenchBackend, bytes: number): Promise<PutMemoryResult> {
  setFlagsFromString('--expose-gc');
  setFlagsFromString('--no-concurrent-array-buffer-sweeping');
  const gc = runInNewContext('gc') as () => void;
  const scratch = await mkdtemp(join(tmpdir(), 'takhin-put-memory-'));
  try {
    const file = join(scratch, 'sparse.log');
    await writeFile(file, '');
    await truncate(file, bytes);
    const key = `${backend.runPrefix}/put-memory`;
    const runs = [
      await measure(gc, 'stream', () => backend.store.put(key, freshChunks(bytes), { size: bytes })),
      await measure(gc, 'file', () => uploadLocalFile(backend.store, file, key)),
    ];
    const { partSize = 0, memoryBoundBytes = 0 } = backend.store.capabilities;
    return { bytes, partSize, memoryBoundBytes, runs };
  } finally {
    setFlagsFromString('--concurrent-array-buffer-sweeping');
    await rm(scratch, { recursive: true, force: true });
  }
}

async function measure(gc: () => void, source: PutMemoryRun['source'], put: () => Promise<{ size: number }>): Promise<PutMemoryRun> {
  gc();
  const baseline = process.memoryUsage();
  const peak = { ...baseline };
  const livePeak = { ...baseline };
  let samples = 0;
  const sample = () => {
    const now = process.memoryUsage();
    gc();
    const live = process.memoryUsage();
    for (const field of ['rss', 'arrayBuffers', 'heapUsed'] as const) {
      peak[field] = Math.max(peak[field], now[field]);
      livePeak[field] = Math.max(livePeak[field], live[field]);
    }
    samples++;
  };
  const timer = setInterval(sample, 10);
  const started = performance.now();
  try {
    await put();
  } finally {
    clearInterval(timer);
  }
  const seconds = Math.round(performance.now() - started) / 1000;
  sample();
  const growth = (from: NodeJS.MemoryUsage): MemoryGrowth => ({
    rssBytes: from.rss - baseline.rss,
    arrayBuffersBytes: from.arrayBuffers - baseline.arrayBuffers,
    heapUsedBytes: from.heapUsed - baseline.heapUsed,
  });
  return { source, seconds, growth: growth(peak), liveGrowth: growth(livePeak), samples };
}

/** `bytes` in fresh 1 MiB buffers (a file read stream's shape), filled cheaply. */
function freshChunks(bytes: number): Readable {
  let sent = 0;
  return new Readable({
    highWaterMark: MiB,
    read() {
      const size = Math.min(MiB, bytes - sent);
      if (size <= 0) return void this.push(null);
      this.push(Buffer.allocUnsafe(size).fill(sent / MiB));
      sent += size;
    },
  });
}
