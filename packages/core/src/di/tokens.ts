import type { InjectionToken } from 'tsyringe';
import type { BackendProvider, BackendTarget } from '../contracts/backend-provider.js';
import type { ColdStore } from '../contracts/cold-store.js';
import type { RetryPolicy } from '../retry/retry-policy.js';
import type { TieredStorageConfig } from './tiered-storage-config.js';

/** The cold store in use, wrapped in the retry layer. Register your own to replace it. */
export const COLD_STORE: InjectionToken<ColdStore> = Symbol.for('takhin.ColdStore');
/** The provider of the configured backend (its `name`, `parseConfig`, `create`, `module`). */
export const BACKEND_PROVIDER: InjectionToken<BackendProvider> = Symbol.for('takhin.BackendProvider');
/** The backend's parsed, plain config: with `BACKEND_PROVIDER.module`, what a worker needs. */
export const BACKEND_CONFIG: InjectionToken<unknown> = Symbol.for('takhin.BackendConfig');
/**
 * The configured backend as plain data (`{ module, config }`), what TransferPool workers build
 * their own instance from. Registered when the provider names its `module`.
 */
export const BACKEND_TARGET: InjectionToken<BackendTarget> = Symbol.for('takhin.BackendTarget');
/** The `storage.tiered` section the container was built from. */
export const TIERED_CONFIG: InjectionToken<TieredStorageConfig> = Symbol.for('takhin.TieredConfig');
/** Retry behaviour of the shared retry layer. */
export const RETRY_POLICY: InjectionToken<Partial<RetryPolicy>> = Symbol.for('takhin.RetryPolicy');
