import 'reflect-metadata';
import { container as globalContainer, instanceCachingFactory, Lifecycle, type DependencyContainer } from 'tsyringe';
import { fsRootWithoutDataDir, isLoadedConfig, loadConfig, parseBackendSection } from '../config/load-config.js';
import type { TakhinConfig } from '../config/takhin-config.js';
import { retrySettingsOf, type BackendProvider } from '../contracts/backend-provider.js';
import type { RetryPolicy } from '../retry/retry-policy.js';
import { ConfigError } from '../errors/config-error.js';
import { createMetadataStore } from '../metadata/create-metadata-store.js';
import { SystemClock } from '../policy/clock.js';
import { PolicyEngine } from '../policy/policy-engine.js';
import { ActiveSegmentRule } from '../policy/rules/active-segment-rule.js';
import { AgeRule } from '../policy/rules/age-rule.js';
import { CachePressureRule } from '../policy/rules/cache-pressure-rule.js';
import { InternalTopicRule } from '../policy/rules/internal-topic-rule.js';
import { TopicOverrideRule } from '../policy/rules/topic-override-rule.js';
import { InMemoryStoreMetrics } from '../metrics/in-memory-store-metrics.js';
import { STORE_METRICS } from '../metrics/store-metrics-token.js';
import { BackendStoreFactory } from '../store/backend-store-factory.js';
import { NO_PROTOCOL_OBSERVER } from '../tiered/protocol-steps.js';
import { TieredStorage } from '../tiered/tiered-storage.js';
import { TransferPool } from '../transfer/transfer-pool.js';
import {
  BACKEND_CONFIG,
  BACKEND_PROVIDER,
  BACKEND_TARGET,
  CLOCK,
  COLD_STORE,
  METADATA_STORE,
  POLICY_RULES,
  PROTOCOL_OBSERVER,
  RETRY_POLICY,
  TAKHIN_CONFIG,
  TIERED_CONFIG,
  TRANSFER_WORKERS,
} from './tokens.js';
import type { TieredStorageConfig } from './tiered-storage-config.js';

export interface CreateContainerOptions {
  /** The container to derive from; defaults to tsyringe's global one (never modified). */
  parent?: DependencyContainer;
}

/** The built-in rules, in the order the engine asks them (the first pin wins). */
export const BUILT_IN_POLICY_RULES = [ActiveSegmentRule, InternalTopicRule, TopicOverrideRule, AgeRule, CachePressureRule] as const;

/**
 * A child container wired for `config` (from `loadConfig`, or just a `storage.tiered` section):
 * the chosen backend's provider and parsed config, `BACKEND_TARGET` for TransferPool workers,
 * `STORE_METRICS`, `COLD_STORE` (core's full store stack around the provider's driver: checks,
 * retries with `RETRY_POLICY`, metrics), `METADATA_STORE`, the built-in
 * `POLICY_RULES`, `CLOCK`, `TRANSFER_WORKERS`, the `PolicyEngine` and `TieredStorage`. The backend
 * sections of the given providers, in use or not, are validated now, so a bad key fails here with
 * its path. Register anything of your
 * own on the returned container (a store, a rule, a clock) before `openTieredStorage`.
 */
export function createContainer(
  config: TakhinConfig | TieredStorageConfig,
  providers: readonly BackendProvider[],
  options: CreateContainerOptions = {},
): DependencyContainer {
  const loaded = isLoadedConfig(config) ? config : loadConfig({ storage: { tiered: config } }, { providers });
  const settings = loaded.storage.tiered;
  const provider = chooseProvider(settings.backend, providers);
  if (provider.name === 'fs' && settings.backends.fs === undefined && loaded.storage.data.dir === undefined) throw fsRootWithoutDataDir();
  const backendConfig = parseBackendSection(loaded, provider);
  // The other backends' sections too, as loadConfig does given the providers: a typo in a section
  // not in use yet would otherwise surface only on the day the backend is switched to it.
  for (const other of providers) if (other !== provider && settings.backends[other.name] !== undefined) parseBackendSection(loaded, other);

  const container = (options.parent ?? globalContainer).createChildContainer();
  container.register(TAKHIN_CONFIG, { useValue: loaded });
  container.register(TIERED_CONFIG, { useValue: settings });
  container.register(BACKEND_PROVIDER, { useValue: provider });
  container.register(BACKEND_CONFIG, { useValue: backendConfig });
  container.register(BACKEND_TARGET, {
    useFactory: (c) => {
      if (provider.module === undefined) {
        throw new TypeError(`backend "${provider.name}" names no module, so TransferPool workers cannot load it: set "module: import.meta.url" on its provider`);
      }
      // The workers' stores retry as the container's does (its RETRY_POLICY, registered before or after this call).
      const retry = retrySettingsOf(c.resolve<Partial<RetryPolicy>>(RETRY_POLICY));
      return { module: provider.module, config: backendConfig, ...(retry ? { retry } : {}) };
    },
  });
  if (!container.isRegistered(RETRY_POLICY, true)) container.register(RETRY_POLICY, { useValue: {} });
  if (!container.isRegistered(STORE_METRICS, true)) {
    container.register(STORE_METRICS, { useClass: InMemoryStoreMetrics }, { lifecycle: Lifecycle.ContainerScoped });
  }
  container.register(COLD_STORE, { useFactory: instanceCachingFactory((c) => c.resolve(BackendStoreFactory).create()) });
  container.register(METADATA_STORE, { useFactory: instanceCachingFactory(() => createMetadataStore(settings, loaded.storage.data.dir)) });
  // The workers' requests are counted in the same registry as the main thread's.
  container.register(TRANSFER_WORKERS, { useFactory: instanceCachingFactory((c) => new TransferPool({ metrics: c.resolve(STORE_METRICS) })) });
  container.register(CLOCK, { useClass: SystemClock }, { lifecycle: Lifecycle.ContainerScoped });
  container.register(PROTOCOL_OBSERVER, { useValue: NO_PROTOCOL_OBSERVER });
  for (const rule of BUILT_IN_POLICY_RULES) container.register(POLICY_RULES, { useClass: rule }, { lifecycle: Lifecycle.ContainerScoped });
  container.register(PolicyEngine, { useClass: PolicyEngine }, { lifecycle: Lifecycle.ContainerScoped });
  container.register(TieredStorage, { useClass: TieredStorage }, { lifecycle: Lifecycle.ContainerScoped });
  return container;
}

function chooseProvider(backend: string, providers: readonly BackendProvider[]): BackendProvider {
  const provider = providers.find((p) => p.name === backend);
  if (!provider) {
    const names = providers.map((p) => p.name);
    throw new ConfigError('storage.tiered.backend', `unknown backend "${backend}"; available: ${names.join(', ') || '(no providers given to createContainer)'}`);
  }
  return provider;
}
