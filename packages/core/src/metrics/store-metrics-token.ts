import type { InjectionToken } from 'tsyringe';
import type { StoreMetricsRegistry } from './store-metrics.js';

/**
 * The registry every store the container builds records into (an `InMemoryStoreMetrics`
 * unless you register your own). Hand it to `new TransferPool({ metrics })` so the operations
 * of the stores the pool's workers build are counted in the same place.
 */
export const STORE_METRICS: InjectionToken<StoreMetricsRegistry> = Symbol.for('takhin.StoreMetrics');
