export { GcsColdStore } from './gcs-cold-store.js';
export { provider } from './provider.js';
export { parseGcsConfig, type GcsConfig } from './config.js';
