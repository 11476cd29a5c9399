import type { RetryPolicy } from '../retry/retry-policy.js';
import { ConfigError } from '../errors/config-error.js';
import { withStoreLayers } from '../store/store-layers.js';
import type { StoreContext } from '../store/store-context.js';
import type { ColdStore } from './cold-store.js';

/**
 * How a backend package plugs in: a name, a validator for its plain config, and a factory.
 * Configs are plain, serializable data so a worker thread can build its own instance from
 * `{ module, config }` (see `BackendTarget`).
 */
export interface BackendProvider<Config = unknown> {
  /** The key under `storage.tiered` that holds this backend's config (`fs`, `s3`, …). */
  readonly name: string;
  /**
   * Validates a plain object and returns the typed config. Throws `ConfigError` naming the
   * offending key for unknown keys, wrong types or missing required values.
   */
  parseConfig(raw: unknown): Config;
  /**
   * A specifier (package name or file URL) of a module that exports this provider, so a
   * worker thread can load it; backends set it to their entry's `import.meta.url`.
   */
  readonly module?: string;
  /**
   * Builds a store without touching the network: core's full stack (retries, metrics, checks)
   * around the backend's driver, retrying and counting as `context` says. The caller owns it
   * and must `close()` it.
   */
  create(config: Config, context?: StoreContext): ColdStore;
}

/**
 * A backend named as plain data: `module` is a package name or a file URL of any module that
 * exports `provider`; `config` is that provider's config. Crosses thread boundaries.
 */
export interface BackendTarget {
  module: string;
  config: unknown;
  /**
   * The numbers of the container's `RETRY_POLICY` (attempts and backoff), for stores built in a
   * TransferPool worker: a policy's functions cannot cross into a thread, its numbers can.
   */
  retry?: RetrySettings | undefined;
}

/** The plain-data part of a `RetryPolicy`. */
export type RetrySettings = Partial<Pick<RetryPolicy, 'maxAttempts' | 'baseDelayMs' | 'maxDelayMs'>>;

/** The numbers of `policy`, for a `BackendTarget`; undefined when it sets none. */
export function retrySettingsOf(policy: Partial<RetryPolicy>): RetrySettings | undefined {
  const settings: RetrySettings = {};
  for (const name of ['maxAttempts', 'baseDelayMs', 'maxDelayMs'] as const) if (policy[name] !== undefined) settings[name] = policy[name];
  return Object.keys(settings).length > 0 ? settings : undefined;
}

/** Loads a backend module by name or URL and returns its `provider` export; a `ConfigError` otherwise. */
export async function importProvider(module: string): Promise<BackendProvider> {
  let loaded: { provider?: BackendProvider };
  try {
    loaded = (await import(module)) as { provider?: BackendProvider };
  } catch (error) {
    throw new ConfigError('backend module', `cannot load "${module}": ${error instanceof Error ? error.message : String(error)}`);
  }
  const provider = loaded.provider;
  if (!provider || typeof provider.create !== 'function' || typeof provider.parseConfig !== 'function') {
    throw new ConfigError('backend module', `module "${module}" does not export a backend "provider" ({ name, parseConfig, create })`);
  }
  return provider;
}

/**
 * Builds a store from a `BackendTarget`, validating its config first: the same stack whoever
 * asks (a provider that returns a bare ColdStore gets core's retry and metrics layers around it).
 */
export async function createColdStore(target: BackendTarget, context: StoreContext = {}): Promise<ColdStore> {
  const provider = await importProvider(target.module);
  if (target.retry !== undefined) context = { ...context, retry: { ...context.retry, ...target.retry } };
  return withStoreLayers(provider.create(provider.parseConfig(target.config), context), context);
}
