import { LATENCY_BUCKETS_MS, type RemoteReadCounters, type StoreMetricsSnapshot } from '@takhin/core';

/**
 * Prometheus text for what core's store-metrics layer counted (requests, errors by code, a
 * latency histogram per backend and operation, bytes each way), read from its snapshot at
 * scrape time. Written out here rather than through prom-client's classes because the
 * histogram arrives already bucketed, from the main thread and the pool's workers alike.
 */
export function storeMetricsText(snapshot: StoreMetricsSnapshot): string {
  const lines: string[] = [];
  family(lines, 'tiered_storage_backend_requests_total', 'counter', 'Requests the cold store sent to its backend, by backend and operation (multipart steps included).');
  for (const series of snapshot.requests) lines.push(sample('tiered_storage_backend_requests_total', { backend: series.backend, operation: series.operation }, series.requests));
  family(lines, 'tiered_storage_backend_errors_total', 'counter', 'Failed backend requests by ColdStoreError code.');
  for (const series of snapshot.requests) {
    for (const [code, count] of Object.entries(series.errors)) lines.push(sample('tiered_storage_backend_errors_total', { backend: series.backend, operation: series.operation, code }, count ?? 0));
  }
  family(lines, 'tiered_storage_backend_request_duration_seconds', 'histogram', 'Latency of backend requests.');
  for (const series of snapshot.requests) {
    const labels = { backend: series.backend, operation: series.operation };
    let cumulative = 0;
    for (const [i, bound] of LATENCY_BUCKETS_MS.entries()) {
      cumulative += series.latencyBuckets[i] ?? 0;
      lines.push(sample('tiered_storage_backend_request_duration_seconds_bucket', { ...labels, le: String(bound / 1000) }, cumulative));
    }
    lines.push(sample('tiered_storage_backend_request_duration_seconds_bucket', { ...labels, le: '+Inf' }, series.requests));
    lines.push(sample('tiered_storage_backend_request_duration_seconds_sum', labels, series.latencySumMs / 1000));
    lines.push(sample('tiered_storage_backend_request_duration_seconds_count', labels, series.requests));
  }
  family(lines, 'tiered_storage_backend_bytes_total', 'counter', 'Body bytes sent to (up) and received from (down) the backend.');
  for (const series of snapshot.bytes) {
    lines.push(sample('tiered_storage_backend_bytes_total', { backend: series.backend, direction: 'up' }, series.up));
    lines.push(sample('tiered_storage_backend_bytes_total', { backend: series.backend, direction: 'down' }, series.down));
  }
  return `${lines.join('\n')}\n`;
}

/** Prometheus text for remote reads: reads by source, the chunk cache's hits and misses, what was fetched. */
export function remoteReadsText(stats: RemoteReadCounters & { cacheBytes: number; cachedChunks: number }): string {
  const lines: string[] = [];
  family(lines, 'tiered_storage_reads_total', 'counter', 'readAt calls by where the bytes came from.');
  lines.push(sample('tiered_storage_reads_total', { source: 'local' }, stats.localReads), sample('tiered_storage_reads_total', { source: 'remote' }, stats.remoteReads));
  const counter = (name: string, help: string, value: number) => {
    family(lines, name, 'counter', help);
    lines.push(sample(name, {}, value));
  };
  counter('tiered_storage_cache_hits_total', 'Chunk reads of remote reads served from the local chunk cache.', stats.hits);
  counter('tiered_storage_cache_misses_total', 'Chunk reads of remote reads that fetched from the cold store.', stats.misses);
  counter('tiered_storage_cache_evictions_total', 'Chunks evicted to stay within local.cache.size.mb.', stats.evictions);
  counter('tiered_storage_remote_read_requests_total', 'Ranged GETs remote reads sent (chunks and offset indexes).', stats.requests);
  counter('tiered_storage_remote_read_bytes_total', 'Bytes remote reads fetched from the cold store.', stats.fetchedBytes);
  counter('tiered_storage_cache_prefetches_total', 'Chunks fetched ahead for sequential readers.', stats.prefetches);
  family(lines, 'tiered_storage_cache_bytes', 'gauge', 'Bytes of chunks in the local chunk cache.');
  lines.push(sample('tiered_storage_cache_bytes', {}, stats.cacheBytes));
  return `${lines.join('\n')}\n`;
}

function family(lines: string[], name: string, type: 'counter' | 'gauge' | 'histogram', help: string): void {
  lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
}

function sample(name: string, labels: Record<string, string>, value: number): string {
  const pairs = Object.entries(labels).map(([key, label]) => `${key}="${label.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return `${name}${pairs.length > 0 ? `{${pairs.join(',')}}` : ''} ${value}`;
}
