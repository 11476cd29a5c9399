import type { BackendProvider } from '@takhin/core';
import { parseMinioConfig, type MinioConfig } from './config.js';
import { MinioColdStore } from './minio-cold-store.js';

/** The `minio` backend; worker threads load it from `module` and rebuild the store from its config. */
export const provider: BackendProvider<MinioConfig> = {
  name: 'minio',
  module: import.meta.url,
  parseConfig: parseMinioConfig,
  create: (config) => new MinioColdStore(config),
};
