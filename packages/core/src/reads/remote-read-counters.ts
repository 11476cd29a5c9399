/**
 * What remote reads cost and how the caches did, since open: the console exposes these as
 * metrics. Plain counters, bumped where the thing happens.
 */
export interface RemoteReadCounters {
  /** `readAt` calls served from a local segment. */
  localReads: number;
  /** `readAt` calls served from the cold store (through the chunk cache). */
  remoteReads: number;
  /** Chunk reads served from the local chunk cache. */
  hits: number;
  /** Chunk reads that had to fetch (or join a fetch already running). */
  misses: number;
  /** Ranged GETs sent to the cold store for chunks and offset indexes. */
  requests: number;
  /** Bytes those GETs returned. */
  fetchedBytes: number;
  /** Chunks fetched ahead for sequential readers, and how many of those failed. */
  prefetches: number;
  prefetchFailures: number;
  /** Chunks evicted to stay within `local.cache.size.mb`. */
  evictions: number;
  /** Offset indexes fetched from the cold store (each once, then cached). */
  indexFetches: number;
}

export function zeroCounters(): RemoteReadCounters {
  return { localReads: 0, remoteReads: 0, hits: 0, misses: 0, requests: 0, fetchedBytes: 0, prefetches: 0, prefetchFailures: 0, evictions: 0, indexFetches: 0 };
}
