import { ColdStoreError, type SerializedColdStoreError } from '../errors/cold-store-error.js';
import { ConfigError } from '../errors/config-error.js';
import { aborted, unrecognizedFailure } from '../errors/factories.js';

/** The `backend` named by errors the pool raises itself, before any backend is involved. */
export const TRANSFER_POOL = 'transfer-pool';

/**
 * An error as plain data, for the trip from a worker to the main thread. Structured cloning
 * keeps an Error's message but drops its own fields, so a `ColdStoreError` would lose its
 * `code` and a `ConfigError` its `path`.
 */
export type SerializedTransferError =
  | { kind: 'cold-store'; error: SerializedColdStoreError; stack?: string | undefined }
  | { kind: 'config'; path: string; message: string; stack?: string | undefined };

/**
 * What a caller of the pool may see: a `ColdStoreError`, or a `ConfigError` for a target whose
 * config or module is wrong. Anything else a worker met (a bug, an SDK's stray error) becomes
 * a non-retryable UNAVAILABLE naming it, so no raw error crosses the boundary.
 */
export function toPoolError(error: unknown, backend: string, key: string | undefined, signal?: AbortSignal): ColdStoreError | ConfigError {
  if (error instanceof ColdStoreError || error instanceof ConfigError) return error;
  if (signal?.aborted) return aborted(backend, key, error);
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return unrecognizedFailure(backend, key, detail, error);
}

export function serializeTransferError(error: ColdStoreError | ConfigError): SerializedTransferError {
  if (error instanceof ConfigError) return { kind: 'config', path: error.path, message: error.message, stack: error.stack };
  return { kind: 'cold-store', error: error.toJSON(), stack: error.stack };
}

/** Rebuilds the error on the receiving thread, with the worker's stack (where it failed). */
export function reviveTransferError(data: SerializedTransferError): ColdStoreError | ConfigError {
  const error = data.kind === 'config' ? ConfigError.withMessage(data.path, data.message) : ColdStoreError.fromJSON(data.error);
  if (data.stack !== undefined) error.stack = data.stack;
  return error;
}
