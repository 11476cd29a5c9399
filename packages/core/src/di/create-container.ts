import 'reflect-metadata';
import { container as globalContainer, instanceCachingFactory, Lifecycle, type DependencyContainer } from 'tsyringe';
import type { BackendProvider } from '../contracts/backend-provider.js';
import { ConfigError } from '../errors/config-error.js';
import { InMemoryStoreMetrics } from '../metrics/in-memory-store-metrics.js';
import { STORE_METRICS } from '../metrics/store-metrics-token.js';
import { BackendStoreFactory } from '../store/backend-store-factory.js';
import { BACKEND_CONFIG, BACKEND_PROVIDER, BACKEND_TARGET, COLD_STORE, RETRY_POLICY, TIERED_CONFIG } from './tokens.js';
import type { TieredStorageConfig } from './tiered-storage-config.js';

export interface CreateContainerOptions {
  /** The container to derive from; defaults to tsyringe's global one (never modified). */
  parent?: DependencyContainer;
  /** Config path used in error messages. */
  configPath?: string;
}

/**
 * A child container wired for `config`: the chosen backend's provider, parsed config and
 * `BACKEND_TARGET` (for TransferPool workers), `STORE_METRICS`, and `COLD_STORE`: the
 * provider's store (core's full stack: retries with `RETRY_POLICY`, metrics into
 * `STORE_METRICS`), built on first resolve by the injectable `BackendStoreFactory`. The config
 * is validated now, so a bad key fails here with its path, not at the first upload.
 * Register your own `COLD_STORE` (or anything else) on the returned container to replace it.
 */
export function createContainer(
  config: TieredStorageConfig,
  providers: readonly BackendProvider[],
  options: CreateContainerOptions = {},
): DependencyContainer {
  const path = options.configPath ?? 'storage.tiered';
  const provider = chooseProvider(config, providers, path);
  const backendConfig = provider.parseConfig(config[provider.name]);

  const container = (options.parent ?? globalContainer).createChildContainer();
  container.register(TIERED_CONFIG, { useValue: config });
  container.register(BACKEND_PROVIDER, { useValue: provider });
  container.register(BACKEND_CONFIG, { useValue: backendConfig });
  if (provider.module !== undefined) container.register(BACKEND_TARGET, { useValue: { module: provider.module, config: backendConfig } });
  if (!container.isRegistered(RETRY_POLICY, true)) container.register(RETRY_POLICY, { useValue: {} });
  if (!container.isRegistered(STORE_METRICS, true)) {
    container.register(STORE_METRICS, { useClass: InMemoryStoreMetrics }, { lifecycle: Lifecycle.ContainerScoped });
  }
  container.register(COLD_STORE, { useFactory: instanceCachingFactory((c) => c.resolve(BackendStoreFactory).create()) });
  return container;
}

function chooseProvider(config: TieredStorageConfig, providers: readonly BackendProvider[], path: string): BackendProvider {
  const names = providers.map((p) => p.name);
  if (typeof config?.backend !== 'string') {
    throw new ConfigError(`${path}.backend`, `is required; one of ${names.join(', ') || '(no providers given)'}`);
  }
  const provider = providers.find((p) => p.name === config.backend);
  if (!provider) {
    throw new ConfigError(`${path}.backend`, `unknown backend "${config.backend}"; available: ${names.join(', ') || '(none)'}`);
  }
  return provider;
}
