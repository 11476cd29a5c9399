import { describe, expect, it } from 'vitest';
import { InMemoryStoreMetrics, LATENCY_BUCKETS_MS } from '@takhin/core';

describe('InMemoryStoreMetrics', () => {
  it('counts requests, failures by code, latency buckets and bytes per backend and operation', () => {
    const metrics = new InMemoryStoreMetrics();
    metrics.recordRequest('s3', 'uploadPart', 3);
    metrics.recordRequest('s3', 'uploadPart', 40_000, 'UNAVAILABLE');
    metrics.recordRequest('gcs', 'headObject', 0.5);
    metrics.recordBytes('s3', 'up', 100);
    metrics.recordBytes('s3', 'down', 7);
    const { requests, bytes } = metrics.snapshot();
    const parts = requests.find((s) => s.backend === 's3' && s.operation === 'uploadPart')!;
    expect(parts).toMatchObject({ requests: 2, errors: { UNAVAILABLE: 1 }, latencySumMs: 40_003 });
    expect(parts.latencyBuckets[LATENCY_BUCKETS_MS.indexOf(5)]).toBe(1);
    expect(parts.latencyBuckets[LATENCY_BUCKETS_MS.length]).toBe(1); // slower than the last bound
    expect(requests.find((s) => s.backend === 'gcs')!.latencyBuckets[0]).toBe(1);
    expect(bytes).toEqual([{ backend: 's3', up: 100, down: 7 }]);
  });

  it('hands out deltas that merge into another registry, as pool workers do', () => {
    const worker = new InMemoryStoreMetrics();
    const main = new InMemoryStoreMetrics();
    main.recordRequest('fs', 'putObject', 1);
    worker.recordRequest('fs', 'putObject', 2, 'ACCESS_DENIED');
    worker.recordBytes('fs', 'up', 10);
    main.merge(structuredClone(worker.takeDelta()));
    expect(worker.snapshot()).toEqual({ requests: [], bytes: [] });
    worker.recordRequest('fs', 'putObject', 2);
    main.merge(worker.takeDelta());
    const put = main.snapshot().requests[0]!;
    expect(put).toMatchObject({ backend: 'fs', operation: 'putObject', requests: 3, errors: { ACCESS_DENIED: 1 }, latencySumMs: 5 });
    expect(main.snapshot().bytes).toEqual([{ backend: 'fs', up: 10, down: 0 }]);
  });
});
