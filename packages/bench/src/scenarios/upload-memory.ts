import type { TransferPool } from '@takhin/core';
import type { BenchBackend } from '../bench-backend.js';
import { measureEventLoopDelay, type EventLoopDelay } from '../probes/event-loop-probe.js';
import { measureRssGrowth, type RssGrowth } from '../probes/rss-probe.js';
import type { SegmentCorpus } from '../segment-corpus.js';

export interface UploadMemoryResult {
  fileBytes: number;
  seconds: number;
  rss: RssGrowth;
  eventLoop: EventLoopDelay;
  growthLimitBytes: number;
  pass: boolean;
}

const GROWTH_LIMIT_BYTES = 256 * 1024 * 1024;

/**
 * Uploads one large file through the pool while sampling the process's RSS: the worker streams,
 * so growth stays near read buffer + the backend's part size × concurrency, not the file size.
 */
export async function benchUploadMemory(pool: TransferPool, backend: BenchBackend, corpus: SegmentCorpus): Promise<UploadMemoryResult> {
  const file = corpus.files[0];
  if (!file) throw new Error('the memory scenario needs one generated file');
  const started = performance.now();
  const { result, rss } = await measureRssGrowth(() =>
    measureEventLoopDelay(() => pool.uploadFile(file.path, `${backend.runPrefix}/memory/${file.segmentPath}`, backend.target)),
  );
  if (result.result.size !== file.bytes) throw new Error(`uploaded ${result.result.size} bytes of ${file.bytes}`);
  return {
    fileBytes: file.bytes,
    seconds: Math.round(performance.now() - started) / 1000,
    rss,
    eventLoop: result.delay,
    growthLimitBytes: GROWTH_LIMIT_BYTES,
    pass: rss.growthBytes < GROWTH_LIMIT_BYTES,
  };
}
