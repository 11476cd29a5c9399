import 'reflect-metadata';
import { container as globalContainer, instanceCachingFactory, type DependencyContainer } from 'tsyringe';
import type { BackendProvider } from '../contracts/backend-provider.js';
import { ConfigError } from '../errors/config-error.js';
import { withRetry } from '../retry/retrying-cold-store.js';
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
 * `BACKEND_TARGET` (for TransferPool workers), and `COLD_STORE` as that backend wrapped in the
 * retry layer, built on first resolve. The config
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
  container.register(COLD_STORE, {
    useFactory: instanceCachingFactory((c) => withRetry(provider.create(backendConfig), c.resolve(RETRY_POLICY))),
  });
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
