import { localBytesOf, remoteBytesOf, type TieredStorage } from '@takhin/core';

/** Bytes of segment files by tier: hot and warm on local disk, cold in the cold store. */
export interface TierBytes {
  readonly hot: number;
  readonly warm: number;
  readonly cold: number;
}

/** How long one count is reused: the dashboard and Prometheus may ask every few seconds. */
const REUSE_MS = 2_000;

/**
 * The model's O(1) stats count segments per tier but bytes only as local and remote, so bytes
 * per tier are summed here over every record: O(n), hence computed at most every two seconds
 * however often they are asked for.
 */
export class TierBytesCounter {
  #last: { at: number; bytes: TierBytes } | undefined;

  constructor(private readonly tiered: TieredStorage) {}

  current(): TierBytes {
    const now = Date.now();
    if (this.#last && now - this.#last.at < REUSE_MS) return this.#last.bytes;
    const bytes = { hot: 0, warm: 0, cold: 0 };
    for (const segment of this.tiered.listSegments()) {
      if (segment.policy === 'cold') bytes.cold += remoteBytesOf(segment);
      else bytes[segment.policy] += localBytesOf(segment);
    }
    this.#last = { at: now, bytes };
    return bytes;
  }

  /** Forget the last count (after an operation the caller will want to see reflected). */
  invalidate(): void {
    this.#last = undefined;
  }
}
