import type { BackendProvider } from '@takhin/core';
import { S3ColdStore } from './cold-store.js';
import { parseS3Config, type S3Config } from './config.js';

/** The `s3` backend; worker threads load it from `module` and rebuild the store from its config. */
export const provider: BackendProvider<S3Config> = {
  name: 's3',
  module: import.meta.url,
  parseConfig: parseS3Config,
  create: (config, context) => new S3ColdStore(config, context),
};
