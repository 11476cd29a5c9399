import type { InjectionToken } from 'tsyringe';
import type { BackendProvider, BackendTarget } from '../contracts/backend-provider.js';
import type { ColdStore } from '../contracts/cold-store.js';
import type { TakhinConfig, TieredSettings } from '../config/takhin-config.js';
import type { MetadataStore } from '../metadata/metadata-store.js';
import type { Clock } from '../policy/clock.js';
import type { PolicyRule } from '../policy/policy-rule.js';
import type { RetryPolicy } from '../retry/retry-policy.js';
import type { ProtocolObserver } from '../tiered/protocol-steps.js';
import type { TransferPool } from '../transfer/transfer-pool.js';

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
/** The whole config the container was built from (`loadConfig`'s result). */
export const TAKHIN_CONFIG: InjectionToken<TakhinConfig> = Symbol.for('takhin.Config');
/** The `storage.tiered` settings, typed, with defaults: what the rules and protocols read. */
export const TIERED_CONFIG: InjectionToken<TieredSettings> = Symbol.for('takhin.TieredConfig');
/** Where segment records are kept (SQLite by default). Register your own to replace it. */
export const METADATA_STORE: InjectionToken<MetadataStore> = Symbol.for('takhin.MetadataStore');
/** The tiering rules, many: `container.register(POLICY_RULES, { useValue: myRule })` adds one. */
export const POLICY_RULES: InjectionToken<PolicyRule> = Symbol.for('takhin.PolicyRules');
/** The time source of the policy engine and the protocols. */
export const CLOCK: InjectionToken<Clock> = Symbol.for('takhin.Clock');
/** The worker-thread pool that moves segment bytes; one per container, closed with it. */
export const TRANSFER_WORKERS: InjectionToken<TransferPool> = Symbol.for('takhin.TransferWorkers');
/** Retry behaviour of the shared retry layer. */
export const RETRY_POLICY: InjectionToken<Partial<RetryPolicy>> = Symbol.for('takhin.RetryPolicy');
/** Told of every archive, restore and evict step as it becomes durable (tracing, crash tests). */
export const PROTOCOL_OBSERVER: InjectionToken<ProtocolObserver> = Symbol.for('takhin.ProtocolObserver');
