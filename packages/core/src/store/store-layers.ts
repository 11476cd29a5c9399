import type { ColdStore } from '../contracts/cold-store.js';
import { InMemoryStoreMetrics } from '../metrics/in-memory-store-metrics.js';
import { RetryingColdStore } from '../retry/retrying-cold-store.js';
import { DriverColdStore } from './driver-cold-store.js';
import { MeteredColdStore } from './metered-cold-store.js';
import type { StoreContext } from './store-context.js';

/**
 * A store with core's layers, whatever a provider returned. Core's own stack (every built-in
 * backend) has them already, per request; a provider that returns a bare ColdStore (a third
 * party's, a test fixture) gets them per operation: metrics, then retries around that.
 */
export function withStoreLayers(store: ColdStore, context: StoreContext = {}): ColdStore {
  if (store instanceof DriverColdStore || store instanceof RetryingColdStore) return store;
  return new RetryingColdStore(new MeteredColdStore(store, context.metrics ?? new InMemoryStoreMetrics()), context.retry);
}
