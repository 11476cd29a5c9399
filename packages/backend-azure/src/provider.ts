import type { BackendProvider } from '@takhin/core';
import { AzureColdStore } from './cold-store.js';
import { parseAzureConfig, type AzureConfig } from './config.js';

/** The `azure` backend: `storage.tiered.azure` → AzureColdStore. Worker threads import `module`. */
export const provider: BackendProvider<AzureConfig> = {
  name: 'azure',
  module: import.meta.url,
  parseConfig: parseAzureConfig,
  create: (config, context) => new AzureColdStore(config, context),
};
