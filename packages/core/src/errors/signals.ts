import { ColdStoreError } from './cold-store-error.js';
import { aborted } from './factories.js';

/** Throws `ABORTED` when the signal has fired; call before any request. */
export function throwIfAborted(signal: AbortSignal | undefined, backend: string, key?: string): void {
  if (signal?.aborted) throw aborted(backend, key, signal.reason);
}

/** Network errors that mean "the server is not there (right now)". */
const UNREACHABLE_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** Finds a connection-level errno anywhere in an error's cause chain (SDKs nest them). */
export function findNetworkErrno(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 8; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && UNREACHABLE_ERRNOS.has(code)) return code;
    const errors = (e as { errors?: unknown }).errors; // AggregateError from happy-eyeballs connects
    if (Array.isArray(errors)) {
      for (const inner of errors) {
        const found = findNetworkErrno(inner);
        if (found) return found;
      }
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** True when the error is an AbortError or the signal fired. */
export function isAbortError(error: unknown, signal?: AbortSignal): boolean {
  if (signal?.aborted) return true;
  if (error instanceof ColdStoreError) return error.code === 'ABORTED';
  const name = (error as { name?: unknown } | null)?.name;
  return name === 'AbortError' || (error as { code?: unknown } | null)?.code === 'ABORT_ERR';
}

/**
 * Runs the jobs `start` makes, all at once, under one signal that also fires when any of them
 * fails, so the others stop early. Settles only when every job has (nothing still writes a file
 * the caller is about to delete), with the jobs' results in order or the first failure. `fail`
 * reports a failure of work a job started but does not await (the jobs should still await it
 * before they settle).
 */
export async function allOrFirstFailure<T>(
  signal: AbortSignal | undefined,
  start: (shared: AbortSignal, fail: (error: unknown) => void) => Promise<T>[],
): Promise<T[]> {
  const failed = new AbortController();
  const shared = signal === undefined ? failed.signal : AbortSignal.any([signal, failed.signal]);
  let first: { error: unknown } | undefined;
  const fail = (error: unknown) => {
    first ??= { error };
    failed.abort(error);
  };
  // A failed job's place holds nothing: the first failure is thrown before anyone reads it.
  const results = await Promise.all(start(shared, fail).map((job) => job.catch((error: unknown) => {
      fail(error);
      return undefined as T;
    })));
  if (first !== undefined) throw first.error;
  return results;
}
