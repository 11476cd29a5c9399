import type { BackendProvider } from '@takhin/core';
import { GcsColdStore } from './cold-store.js';
import { parseGcsConfig, type GcsConfig } from './config.js';

/** The `gcs` backend: `storage.tiered.gcs` → GcsColdStore. Worker threads import `module`. */
export const provider: BackendProvider<GcsConfig> = {
  name: 'gcs',
  module: import.meta.url,
  parseConfig: parseGcsConfig,
  create: (config, context) => new GcsColdStore(config, context),
};
