import type { TieredStorage } from '@takhin/core';
import type { ConsoleMetrics } from '../metrics/console-metrics.js';
import type { TierBytesCounter } from './tier-bytes.js';

/** What the endpoint groups share: the model, the metrics, and where unexpected errors go. */
export interface ConsoleContext {
  readonly tiered: TieredStorage;
  readonly metrics: ConsoleMetrics;
  readonly tierBytes: TierBytesCounter;
  /** Unexpected failures (bugs, not refusals), with their stack, for the operator's log. */
  readonly log: (message: string, error?: unknown) => void;
}
