import { ColdStoreError, type SerializedColdStoreError } from '../errors/cold-store-error.js';

/** The `backend` named by errors the pool raises itself, before any backend is involved. */
export const TRANSFER_POOL = 'transfer-pool';

/**
 * An error as plain data, for the trip from a worker to the main thread. Structured cloning
 * keeps an Error's message but drops its own fields, so a `ColdStoreError` would lose its
 * `code`; other errors keep `name` and a Node-style `code` (`ENOENT`, `ENOSPC`).
 */
export type SerializedTransferError =
  | { kind: 'cold-store'; error: SerializedColdStoreError }
  | { kind: 'error'; name: string; message: string; code: string | undefined; stack: string | undefined };

export function serializeTransferError(error: unknown): SerializedTransferError {
  if (error instanceof ColdStoreError) return { kind: 'cold-store', error: error.toJSON() };
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { kind: 'error', name: error.name, message: error.message, code: typeof code === 'string' ? code : undefined, stack: error.stack };
  }
  return { kind: 'error', name: 'Error', message: String(error), code: undefined, stack: undefined };
}

/** Rebuilds the error on the receiving thread: a `ColdStoreError` with the same code, or an Error. */
export function reviveTransferError(data: SerializedTransferError): Error {
  if (data.kind === 'cold-store') return ColdStoreError.fromJSON(data.error);
  const error = new Error(data.message) as NodeJS.ErrnoException;
  error.name = data.name;
  if (data.code !== undefined) error.code = data.code;
  // The worker's stack says where it failed; the local one would only show the message port.
  if (data.stack !== undefined) error.stack = data.stack;
  return error;
}
