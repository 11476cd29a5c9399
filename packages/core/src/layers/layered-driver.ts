import type { ColdStoreDriver, MultipartUpload } from '../driver/cold-store-driver.js';
import type { StoreMetrics } from '../metrics/store-metrics.js';
import type { RetryPolicy } from '../retry/retry-policy.js';
import { layerDriver } from './driver-layer.js';
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
  const mapped = layerDriver(driver, errorMappingLayer(driver));
  const measured = layerDriver(mapped, metricsLayer(driver.backend, options.metrics));
  return layerDriver(measured, retryLayer(driver.backend, options.retry));
}
