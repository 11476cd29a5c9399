export { GcsColdStore } from './cold-store.js';
export { GCS_STORAGE_CLASSES, parseGcsConfig, type GcsConfig } from './config.js';
export { GcsDriver } from './driver.js';
export { provider } from './provider.js';
