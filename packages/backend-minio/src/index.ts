export { MinioColdStore } from './cold-store.js';
export { parseMinioConfig, type MinioConfig } from './config.js';
export { MinioDriver } from './driver.js';
export { provider } from './provider.js';
