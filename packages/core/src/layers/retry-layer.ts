import { ColdStoreError } from '../errors/cold-store-error.js';
import { aborted } from '../errors/factories.js';
import { retrying, type RetryPolicy } from '../retry/retry-policy.js';
import type { DriverLayer } from './driver-layer.js';

/**
 * Sends a retryable request again after a retryable failure, with full-jitter backoff, at most
 * `policy.maxAttempts` times in all. Every byte a retried request carries is in memory already
 * (a part, a whole small object), so nothing is read twice. An abort during the backoff ends it.
 */
export function retryLayer(backend: string, policy: RetryPolicy): DriverLayer {
  return async (call, send) => {
    if (!call.retryable) return send();
    try {
      return await retrying(policy, call.operation, call.key, call.signal, send);
    } catch (error) {
      // The backoff's own abort names no backend; the caller must see whose operation stopped.
      if (error instanceof ColdStoreError && error.code === 'ABORTED' && error.backend !== backend) throw aborted(backend, call.key, error.cause);
      throw error;
    }
  };
}
