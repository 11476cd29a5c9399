import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { send, startConsoleFixture, type ConsoleFixture } from './console-fixture.js';

/** The value of one series in a Prometheus text body, or undefined. */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

// Per-backend and remote-read metrics come from core's own counters, read at each scrape.
describe('backend and remote-read metrics', () => {
  let fx: ConsoleFixture;
  beforeAll(async () => {
    fx = await startConsoleFixture();
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('every cold-store request is counted by backend and operation, with latency, bytes and errors by code', async () => {
    const before = (await send(fx.port, '/metrics')).text;
    const heads = value(before, 'tiered_storage_backend_requests_total{backend="fs",operation="headObject"}') ?? 0;
    await fx.tiered.store.head('no/such/key.log');
    const after = (await send(fx.port, '/metrics')).text;
    expect(value(after, 'tiered_storage_backend_requests_total{backend="fs",operation="headObject"}')).toBe(heads + 1);
    expect(value(after, 'tiered_storage_backend_request_duration_seconds_bucket{backend="fs",operation="headObject",le="+Inf"}')).toBe(heads + 1);
    await expect(fx.tiered.store.get('no/such/key.log')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const failed = (await send(fx.port, '/metrics')).text;
    expect(value(failed, 'tiered_storage_backend_errors_total{backend="fs",operation="getObject",code="NOT_FOUND"}')).toBeGreaterThanOrEqual(1);
    expect(failed).toContain('# TYPE tiered_storage_backend_request_duration_seconds histogram');
  });

  it('remote reads show where their bytes came from and how the chunk cache did', async () => {
    const archived = fx.tiered.listSegments({ policy: 'cold' })[0]!;
    await fx.tiered.readAt(archived.topic, archived.partition, archived.baseOffset, { maxBytes: 1 });
    await fx.tiered.readAt(archived.topic, archived.partition, archived.baseOffset, { maxBytes: 1 });
    // A read may leave work behind it (a prefetch, a fetched chunk written to the cache), so the
    // counters may move between a scrape and the stats read beside it: once it settles, they agree.
    await vi.waitFor(
      async () => {
        const text = (await send(fx.port, '/metrics')).text;
        const stats = fx.tiered.remoteReadStats();
        expect(value(text, 'tiered_storage_reads_total{source="remote"}')).toBe(stats.remoteReads);
        expect(stats.remoteReads).toBeGreaterThanOrEqual(2);
        expect(value(text, 'tiered_storage_cache_misses_total')).toBe(stats.misses);
        expect(value(text, 'tiered_storage_cache_hits_total')).toBe(stats.hits);
        expect(stats.misses).toBeGreaterThan(0);
        expect(stats.hits).toBeGreaterThan(0);
        expect(value(text, 'tiered_storage_remote_read_bytes_total')).toBe(stats.fetchedBytes);
        expect(value(text, 'tiered_storage_cache_bytes')).toBe(stats.cacheBytes);
        expect(stats.cacheBytes).toBeGreaterThan(0);
      },
      { timeout: 5_000, interval: 50 },
    );
  });
});
