import { ColdStoreError } from '../errors/cold-store-error.js';
import { aborted } from '../errors/factories.js';
import { retryAfterMs } from './retry-after.js';

/** How often and how patiently to retry a retryable failure. */
export interface RetryPolicy {
  /** Attempts in all, the first included (1 = no retry). */
  maxAttempts: number;
  /** The backoff ceiling of the first retry; it doubles each attempt up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A number in [0, 1): the jitter source (full jitter). */
  random: () => number;
  /** Waits `ms`, rejecting with `ABORTED` if the signal fires first. */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Told before each retry; for logs and metrics. */
  onRetry?: (event: RetryEvent) => void;
  /**
   * After a put's caller aborts it, how long the put waits for the server to discard its
   * multipart upload before reporting `ABORTED`; an abort not answered by then goes on and is
   * remembered (`PendingAborts`). Also how long a put waits for earlier puts' pending aborts
   * before it starts. Default 10 s.
   */
  abortCleanupWaitMs?: number;
}

export interface RetryEvent {
  operation: string;
  key: string | undefined;
  attempt: number;
  delayMs: number;
  error: ColdStoreError;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 100,
  maxDelayMs: 5_000,
  random: Math.random,
  sleep: sleepWithSignal,
  abortCleanupWaitMs: 10_000,
};

/** Full-jitter exponential backoff: uniform in [0, min(max, base × 2^(attempt-1))). */
export function backoffDelay(policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs' | 'random'>, attempt: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(policy.random() * ceiling);
}

export function sleepWithSignal(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(aborted('retry', undefined, signal.reason));
    const onAbort = () => {
      clearTimeout(timer);
      reject(aborted('retry', undefined, signal?.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs `attempt` until it succeeds, fails with a non-retryable error, or runs out of attempts.
 * Only `ColdStoreError`s with `retryable` are retried; anything else is a bug and surfaces at once.
 * A server that said how long to wait (`Retry-After`) is not asked again sooner, up to
 * `maxDelayMs`: a full-jitter backoff alone could spend every attempt inside that time.
 */
export async function retrying<T>(
  policy: RetryPolicy,
  operation: string,
  key: string | undefined,
  signal: AbortSignal | undefined,
  attempt: (attemptNumber: number) => Promise<T>,
): Promise<T> {
  for (let attemptNumber = 1; ; attemptNumber++) {
    try {
      return await attempt(attemptNumber);
    } catch (error) {
      const retry = error instanceof ColdStoreError && error.retryable && attemptNumber < policy.maxAttempts && !signal?.aborted;
      if (!retry) throw error;
      const delayMs = Math.max(backoffDelay(policy, attemptNumber), Math.min(retryAfterMs(error) ?? 0, policy.maxDelayMs));
      policy.onRetry?.({ operation, key, attempt: attemptNumber, delayMs, error });
      await policy.sleep(delayMs, signal);
    }
  }
}
