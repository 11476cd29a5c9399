import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackendRequest } from '@takhin/console';
import { send, startConsoleFixture, type ConsoleFixture } from './console-fixture.js';

// The seams for the per-backend and cache metrics core is landing: what an adapter feeds in is
// what /metrics shows, and nothing is shown before a source is attached.
describe('metrics adapters', () => {
  let fx: ConsoleFixture;
  beforeAll(async () => {
    fx = await startConsoleFixture();
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('backend requests become requests, bytes, latency and errors by backend and operation', async () => {
    const listeners: ((request: BackendRequest) => void)[] = [];
    const unsubscribe = fx.server.metrics.attachBackendRequests({
      subscribe: (listener) => {
        listeners.push(listener);
        return () => listeners.splice(listeners.indexOf(listener), 1);
      },
    });
    listeners[0]!({ backend: 's3', operation: 'put', durationMs: 120, bytesUp: 5000, bytesDown: 0 });
    listeners[0]!({ backend: 's3', operation: 'get', durationMs: 30, bytesUp: 0, bytesDown: 700, errorCode: 'THROTTLED' });
    const text = (await send(fx.port, '/metrics')).text;
    expect(text).toContain('tiered_storage_backend_requests_total{backend="s3",operation="put"} 1');
    expect(text).toContain('tiered_storage_backend_bytes_total{backend="s3",operation="put",direction="up"} 5000');
    expect(text).toContain('tiered_storage_backend_bytes_total{backend="s3",operation="get",direction="down"} 700');
    expect(text).toContain('tiered_storage_backend_request_duration_seconds_bucket{le="0.25",backend="s3",operation="put"} 1');
    expect(text).toContain('tiered_storage_backend_errors_total{backend="s3",operation="get",code="THROTTLED"} 1');
    unsubscribe();
    expect(listeners).toHaveLength(0);
  });

  it('cache counters are read at each scrape and only ever go up', async () => {
    let counters = { hits: 3, misses: 1 };
    fx.server.metrics.attachCacheCounters({ counters: () => counters });
    const value = async (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec((await send(fx.port, '/metrics')).text)?.[1]);
    expect(await value('tiered_storage_cache_hits_total')).toBe(3);
    counters = { hits: 10, misses: 4 };
    expect(await value('tiered_storage_cache_hits_total')).toBe(10);
    expect(await value('tiered_storage_cache_misses_total')).toBe(4);
  });
});
