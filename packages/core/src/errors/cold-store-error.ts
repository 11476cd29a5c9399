/** The stable failure codes every backend maps its SDK's errors to (docs/ARCHITECTURE.md, "Errors"). */
export const COLD_STORE_ERROR_CODES = [
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'CHECKSUM_MISMATCH',
  'INVALID_KEY',
  'INVALID_RANGE',
  'ACCESS_DENIED',
  'THROTTLED',
  'UNAVAILABLE',
  'ABORTED',
] as const;

export type ColdStoreErrorCode = (typeof COLD_STORE_ERROR_CODES)[number];

/** Codes worth another attempt: the server was busy or unreachable, not wrong. */
const RETRYABLE_CODES: ReadonlySet<ColdStoreErrorCode> = new Set(['THROTTLED', 'UNAVAILABLE']);

export interface ColdStoreErrorOptions {
  /** The backend's name (`fs`, `s3`, …). */
  backend: string;
  /** The object key the operation was about, without the backend's prefix. */
  key?: string | undefined;
  /** The SDK's or the system's original error. */
  cause?: unknown;
  /** Overrides the code's default retryability. */
  retryable?: boolean;
  /** The file of this machine the failure is about, when it is not the store's (a TransferPool's source or destination). */
  localPath?: string | undefined;
}

/**
 * The one error class of the ColdStore contract. Callers switch on `code` and never
 * need to know which SDK sits underneath; the SDK's error stays reachable as `cause`.
 */
export class ColdStoreError extends Error {
  override readonly name = 'ColdStoreError';
  readonly code: ColdStoreErrorCode;
  readonly retryable: boolean;
  readonly backend: string;
  readonly key: string | undefined;
  /** Set when a local file failed (a full or read-only disk), not the store: callers then speak of the file. */
  readonly localPath: string | undefined;

  constructor(code: ColdStoreErrorCode, message: string, options: ColdStoreErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.backend = options.backend;
    this.key = options.key;
    this.localPath = options.localPath;
    this.retryable = options.retryable ?? RETRYABLE_CODES.has(code);
  }

  /** A plain-data form that survives `postMessage` between threads. */
  toJSON(): SerializedColdStoreError {
    return {
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      backend: this.backend,
      key: this.key,
      cause: this.cause instanceof Error ? `${this.cause.name}: ${this.cause.message}` : undefined,
      ...(this.localPath !== undefined ? { localPath: this.localPath } : {}),
    };
  }

  static fromJSON(data: SerializedColdStoreError): ColdStoreError {
    return new ColdStoreError(data.code, data.message, {
      backend: data.backend,
      key: data.key,
      retryable: data.retryable,
      cause: data.cause === undefined ? undefined : new Error(data.cause),
      localPath: data.localPath,
    });
  }
}

export interface SerializedColdStoreError {
  code: ColdStoreErrorCode;
  message: string;
  retryable: boolean;
  backend: string;
  key: string | undefined;
  cause: string | undefined;
  localPath?: string | undefined;
}

export function isColdStoreError(error: unknown, code?: ColdStoreErrorCode): error is ColdStoreError {
  return error instanceof ColdStoreError && (code === undefined || error.code === code);
}

export function isSerializedColdStoreError(value: unknown): value is SerializedColdStoreError {
  if (typeof value !== 'object' || value === null) return false;
  const code = (value as { code?: unknown }).code;
  return typeof code === 'string' && (COLD_STORE_ERROR_CODES as readonly string[]).includes(code)
    && typeof (value as { backend?: unknown }).backend === 'string';
}
