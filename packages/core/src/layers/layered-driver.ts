import type { ColdStoreDriver, MultipartUpload } from '../driver/cold-store-driver.js';
import type { StoreMetrics } from '../metrics/store-metrics.js';
import type { RetryPolicy } from '../retry/retry-policy.js';
import { layerDriver, type DriverLayer } from './driver-layer.js';
import { errorMappingLayer } from './error-mapping-layer.js';
import { metricsLayer } from './metrics-layer.js';
import { retryLayer } from './retry-layer.js';

/**
 * The stack every request runs through, outermost first: retry → metrics → error mapping →
 * the driver. Metrics sit inside the retries so that each attempt, and each failure's code,
 * is counted; error mapping sits innermost so that retries and metrics see contract codes.
 */
export function layeredDriver<Upload extends MultipartUpload>(
  driver: ColdStoreDriver<Upload>,
  options: { retry: RetryPolicy; metrics: StoreMetrics },
): ColdStoreDriver<Upload> {
  return layerDriver(driver, storeLayer(driver, options));
}

/** The same stack as one layer, for a request core sends itself (a plain read). */
export function storeLayer(driver: Pick<ColdStoreDriver, 'backend' | 'mapError'>, options: { retry: RetryPolicy; metrics: StoreMetrics }): DriverLayer {
  const retry = retryLayer(driver.backend, options.retry);
  const measure = metricsLayer(driver.backend, options.metrics);
  const mapErrors = errorMappingLayer(driver);
  return (call, send) => retry(call, () => measure(call, () => mapErrors(call, send)));
}
