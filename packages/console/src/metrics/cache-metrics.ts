import { Counter, type Registry } from 'prom-client';

/**
 * The remote-read chunk cache's running counters, as core's cache reports them. Like
 * `BackendRequestSource`, this is the console's side of the seam: an adapter maps core's
 * counters onto it.
 */
export interface CacheCounterSource {
  /** Counts since the cache was created; read at every scrape. */
  counters(): { readonly hits: number; readonly misses: number };
}

/**
 * `tiered_storage_cache_hits_total` and `_misses_total`, read from the source at scrape time.
 * Registered only when a source is attached: no cache, no series.
 */
export function registerCacheMetrics(registry: Registry, source: CacheCounterSource): void {
  let reported = { hits: 0, misses: 0 };
  const sync = () => {
    const now = source.counters();
    // Counters only go up: add what the source gained since the last scrape.
    hits.inc(Math.max(0, now.hits - reported.hits));
    misses.inc(Math.max(0, now.misses - reported.misses));
    reported = { hits: Math.max(reported.hits, now.hits), misses: Math.max(reported.misses, now.misses) };
  };
  const hits = new Counter({ name: 'tiered_storage_cache_hits_total', help: 'Remote reads answered from the local chunk cache.', registers: [registry], collect: sync });
  const misses = new Counter({ name: 'tiered_storage_cache_misses_total', help: 'Remote reads that fetched a chunk from the cold store.', registers: [registry] });
}
