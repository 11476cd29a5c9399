import type { TieredStorage } from '@takhin/core';
import type { ConsoleMetrics } from '../metrics/console-metrics.js';

/** What the endpoint groups share: the model, the metrics, and where unexpected errors go. */
export interface ConsoleContext {
  readonly tiered: TieredStorage;
  readonly metrics: ConsoleMetrics;
  /** Unexpected failures (bugs, not refusals), with their stack, for the operator's log. */
  readonly log: (message: string, error?: unknown) => void;
}
