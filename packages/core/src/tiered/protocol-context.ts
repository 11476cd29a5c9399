import type { EventEmitter } from 'eventemitter3';
import type { TieredSettings } from '../config/takhin-config.js';
import type { BackendTarget } from '../contracts/backend-provider.js';
import type { ColdStore } from '../contracts/cold-store.js';
import type { Clock } from '../policy/clock.js';
import type { TransferPool } from '../transfer/transfer-pool.js';
import type { ProtocolObserver } from './protocol-steps.js';
import type { SegmentCatalog } from './segment-catalog.js';
import type { TieredStorageEvents } from './tiered-events.js';

/** What the protocols share: where segments live, the records, the cold store and the pool. */
export interface ProtocolContext {
  readonly dataDir: string;
  readonly settings: TieredSettings;
  readonly catalog: SegmentCatalog;
  /** For heads, manifests and deletes, on the calling thread. */
  readonly store: ColdStore;
  /** Segment bytes move only through the pool's worker threads. */
  readonly pool: TransferPool;
  /** The same backend as `store`, as plain data the pool's workers build it from. */
  readonly target: BackendTarget;
  readonly clock: Clock;
  readonly observer: ProtocolObserver;
  readonly events: EventEmitter<TieredStorageEvents>;
}
