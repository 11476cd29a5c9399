import 'reflect-metadata';
import { injectable } from 'tsyringe';
import type { ColdStoreErrorCode } from '../errors/cold-store-error.js';
import {
  LATENCY_BUCKETS_MS,
  type ByteSeries,
  type RequestSeries,
  type StoreMetricsRegistry,
  type StoreMetricsSnapshot,
} from './store-metrics.js';

/**
 * Store metrics in plain maps: what every store records into unless given another registry,
 * what the container registers under `STORE_METRICS`, and what each TransferPool worker keeps
 * and hands back as a delta with every task's result. The console bridges `snapshot()` to
 * Prometheus; nothing here depends on a metrics library.
 */
@injectable()
export class InMemoryStoreMetrics implements StoreMetricsRegistry {
  readonly #requests = new Map<string, RequestSeries>();
  readonly #bytes = new Map<string, ByteSeries>();

  recordRequest(backend: string, operation: string, durationMs: number, error?: ColdStoreErrorCode): void {
    const series = this.#series(backend, operation);
    series.requests++;
    series.latencySumMs += durationMs;
    const bucket = LATENCY_BUCKETS_MS.findIndex((bound) => durationMs <= bound);
    series.latencyBuckets[bucket === -1 ? LATENCY_BUCKETS_MS.length : bucket]!++;
    if (error !== undefined) series.errors[error] = (series.errors[error] ?? 0) + 1;
  }

  recordBytes(backend: string, direction: 'up' | 'down', bytes: number): void {
    this.#byteSeries(backend)[direction] += bytes;
  }

  snapshot(): StoreMetricsSnapshot {
    return {
      requests: [...this.#requests.values()].map((s) => ({ ...s, errors: { ...s.errors }, latencyBuckets: [...s.latencyBuckets] })),
      bytes: [...this.#bytes.values()].map((s) => ({ ...s })),
    };
  }

  /** The snapshot, after which every count starts again from zero: a delta to merge elsewhere. */
  takeDelta(): StoreMetricsSnapshot {
    const delta = this.snapshot();
    this.#requests.clear();
    this.#bytes.clear();
    return delta;
  }

  merge(delta: StoreMetricsSnapshot): void {
    for (const added of delta.requests) {
      const series = this.#series(added.backend, added.operation);
      series.requests += added.requests;
      series.latencySumMs += added.latencySumMs;
      added.latencyBuckets.forEach((count, i) => (series.latencyBuckets[i] = (series.latencyBuckets[i] ?? 0) + count));
      for (const [code, count] of Object.entries(added.errors) as Array<[ColdStoreErrorCode, number]>) {
        series.errors[code] = (series.errors[code] ?? 0) + count;
      }
    }
    for (const added of delta.bytes) {
      const series = this.#byteSeries(added.backend);
      series.up += added.up;
      series.down += added.down;
    }
  }

  #series(backend: string, operation: string): RequestSeries {
    const id = `${backend}\n${operation}`;
    let series = this.#requests.get(id);
    if (!series) {
      series = { backend, operation, requests: 0, errors: {}, latencySumMs: 0, latencyBuckets: new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0) };
      this.#requests.set(id, series);
    }
    return series;
  }

  #byteSeries(backend: string): ByteSeries {
    let series = this.#bytes.get(backend);
    if (!series) {
      series = { backend, up: 0, down: 0 };
      this.#bytes.set(backend, series);
    }
    return series;
  }
}

/** True when `snapshot` holds no counts at all. */
export function isEmptySnapshot(snapshot: StoreMetricsSnapshot): boolean {
  return snapshot.requests.length === 0 && snapshot.bytes.length === 0;
}
