import 'reflect-metadata';
import { inject, injectable } from 'tsyringe';
import type { BackendProvider } from '../contracts/backend-provider.js';
import type { ColdStore } from '../contracts/cold-store.js';
import { BACKEND_CONFIG, BACKEND_PROVIDER, RETRY_POLICY } from '../di/tokens.js';
import type { StoreMetrics } from '../metrics/store-metrics.js';
import { STORE_METRICS } from '../metrics/store-metrics-token.js';
import type { RetryPolicy } from '../retry/retry-policy.js';
import { withStoreLayers } from './store-layers.js';

/**
 * Builds the container's `COLD_STORE`: the configured provider's store, with the container's
 * retry policy and metrics registry, through the same door (`provider.create` with a context)
 * a TransferPool worker uses.
 */
@injectable()
export class BackendStoreFactory {
  constructor(
    @inject(BACKEND_PROVIDER) private readonly provider: BackendProvider,
    @inject(BACKEND_CONFIG) private readonly config: unknown,
    @inject(STORE_METRICS) private readonly metrics: StoreMetrics,
    @inject(RETRY_POLICY) private readonly retry: Partial<RetryPolicy>,
  ) {}

  create(): ColdStore {
    const context = { metrics: this.metrics, retry: this.retry };
    return withStoreLayers(this.provider.create(this.config, context), context);
  }
}
