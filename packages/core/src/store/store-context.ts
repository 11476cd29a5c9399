import type { StoreMetrics } from '../metrics/store-metrics.js';
import type { RetryPolicy } from '../retry/retry-policy.js';

/**
 * What every door that builds a store passes to it (`provider.create(config, context)`, the
 * container, a TransferPool worker), so that each yields the same stack: retries with this
 * policy, metrics into this registry.
 */
export interface StoreContext {
  /** Overrides of the retry policy; the defaults retry 4 times with full-jitter backoff. */
  retry?: Partial<RetryPolicy> | undefined;
  /** Where the store's requests are counted; a store of its own otherwise. */
  metrics?: StoreMetrics | undefined;
}
