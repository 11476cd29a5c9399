import type { BackendProvider } from '@takhin/core';
import { parseFsConfig, type FsConfig } from './config.js';
import { FsColdStore } from './fs-cold-store.js';

/** `storage.tiered.backend: fs` — the embedded default. */
export const provider: BackendProvider<FsConfig> = {
  name: 'fs',
  module: import.meta.url,
  parseConfig: parseFsConfig,
  create: (config) => new FsColdStore(config),
};
