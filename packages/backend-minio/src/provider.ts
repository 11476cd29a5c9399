import type { BackendProvider } from '@takhin/core';
import { MinioColdStore } from './cold-store.js';
import { parseMinioConfig, type MinioConfig } from './config.js';

/** The `minio` backend; worker threads load it from `module` and rebuild the store from its config. */
export const provider: BackendProvider<MinioConfig> = {
  name: 'minio',
  module: import.meta.url,
  parseConfig: parseMinioConfig,
  create: (config, context) => new MinioColdStore(config, context),
};
