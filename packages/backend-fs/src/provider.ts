import type { BackendProvider } from '@takhin/core';
import { FsColdStore } from './cold-store.js';
import { parseFsConfig, type FsConfig } from './config.js';

/** `storage.tiered.backend: fs` — the embedded default. Worker threads import `module`. */
export const provider: BackendProvider<FsConfig> = {
  name: 'fs',
  module: import.meta.url,
  parseConfig: parseFsConfig,
  create: (config, context) => new FsColdStore(config, context),
};
