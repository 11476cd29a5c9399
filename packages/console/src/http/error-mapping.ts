import { ColdStoreError, ConfigError, KafkaFormatError, TieringError, type ColdStoreErrorCode, type TieringErrorCode } from '@takhin/core';
import { ApiError, internalError } from './api-error.js';

/** The HTTP status of each tiering failure: the caller's mistake (4xx) or the system's (5xx). */
const TIERING_STATUS: Readonly<Record<TieringErrorCode, number>> = {
  INVALID_SEGMENT_PATH: 400,
  INVALID_ARGUMENT: 400,
  UNKNOWN_SEGMENT: 404,
  UNKNOWN_PARTITION: 404,
  OFFSET_OUT_OF_RANGE: 404,
  NOT_ALLOWED: 409,
  TIERING_DISABLED: 409,
  METADATA_CONFLICT: 409,
  DATA_DIR_LOCKED: 409,
  COLD_STORE_CLAIMED: 409,
  REMOTE_MISSING: 502,
  REMOTE_CORRUPT: 502,
  CORRUPT_SEGMENT: 500,
  LOCAL_FAILURE: 500,
  METADATA_FAILURE: 503,
  CLOSED: 503,
};

/** The cold store's failures are upstream ones: busy or unreachable is 503, anything else 502. */
const COLD_STORE_STATUS: Readonly<Record<ColdStoreErrorCode, number>> = {
  THROTTLED: 503,
  UNAVAILABLE: 503,
  ABORTED: 503,
  NOT_FOUND: 502,
  ALREADY_EXISTS: 502,
  CHECKSUM_MISMATCH: 502,
  INVALID_KEY: 502,
  INVALID_RANGE: 502,
  ACCESS_DENIED: 502,
};

/**
 * Turns anything a handler threw into the error the client sees. Errors of the tiering model
 * keep their stable code and message (they name segments and keys, never secrets); anything
 * unexpected becomes a bare 500 and is handed to `log`, so no stack trace leaves the process.
 */
export function toApiError(error: unknown, log: (error: unknown) => void): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof TieringError) return new ApiError(TIERING_STATUS[error.code] ?? 500, error.code, error.message);
  if (error instanceof ColdStoreError) return new ApiError(COLD_STORE_STATUS[error.code] ?? 502, `COLD_STORE_${error.code}`, error.message);
  if (error instanceof KafkaFormatError) return new ApiError(500, `KAFKA_FORMAT_${error.code}`, error.message);
  if (error instanceof ConfigError) return new ApiError(500, 'CONFIG', error.message);
  log(error);
  return internalError();
}
