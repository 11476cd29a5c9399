import type { BackendProvider } from '@takhin/core';
import { parseGcsConfig, type GcsConfig } from './config.js';
import { GcsColdStore } from './gcs-cold-store.js';

/** The `gcs` backend: `storage.tiered.gcs` → GcsColdStore. Worker threads import `module`. */
export const provider: BackendProvider<GcsConfig> = {
  name: 'gcs',
  module: import.meta.url,
  parseConfig: parseGcsConfig,
  create: (config) => new GcsColdStore(config),
};
