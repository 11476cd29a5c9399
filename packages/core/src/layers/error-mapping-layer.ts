import type { ColdStoreDriver, ErrorContext } from '../driver/cold-store-driver.js';
import { ColdStoreError } from '../errors/cold-store-error.js';
import { aborted, unrecognizedFailure } from '../errors/factories.js';
import type { DriverLayer } from './driver-layer.js';

/**
 * What `error` means in the contract's terms, whatever threw it: the driver's mapper decides,
 * an abort is always ABORTED, and anything a mapper let through becomes a non-retryable
 * UNAVAILABLE, so no SDK type ever reaches a caller.
 */
export function toContractError(driver: Pick<ColdStoreDriver, 'backend' | 'mapError'>, error: unknown, context: ErrorContext): ColdStoreError {
  if (error instanceof ColdStoreError) return error;
  if (context.signal?.aborted) return aborted(driver.backend, context.key, error);
  let mapped: unknown;
  try {
    mapped = driver.mapError(error, context);
  } catch (mapperFailure) {
    mapped = mapperFailure;
  }
  if (mapped instanceof ColdStoreError) return mapped;
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return unrecognizedFailure(driver.backend, context.key, detail, error);
}

/** The innermost layer: every failure leaves the driver as a `ColdStoreError`. */
export function errorMappingLayer(driver: Pick<ColdStoreDriver, 'backend' | 'mapError'>): DriverLayer {
  return async (call, send) => {
    try {
      return await send();
    } catch (error) {
      throw toContractError(driver, error, { key: call.key, signal: call.signal });
    }
  };
}
