import { ColdStoreError } from '../errors/cold-store-error.js';
import type { StoreMetrics } from '../metrics/store-metrics.js';
import type { DriverLayer } from './driver-layer.js';

/** Counts every attempt of every request: latency, failures by code, body bytes sent. */
export function metricsLayer(backend: string, metrics: StoreMetrics): DriverLayer {
  return async (call, send) => {
    const started = performance.now();
    try {
      const result = await send();
      metrics.recordRequest(backend, call.operation, performance.now() - started);
      if (call.bytesUp) metrics.recordBytes(backend, 'up', call.bytesUp);
      return result;
    } catch (error) {
      const code = error instanceof ColdStoreError ? error.code : 'UNAVAILABLE';
      metrics.recordRequest(backend, call.operation, performance.now() - started, code);
      throw error;
    }
  };
}
