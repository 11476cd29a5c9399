export { MinioColdStore } from './minio-cold-store.js';
export { provider } from './provider.js';
export { parseMinioConfig } from './config.js';
export type { MinioConfig } from './config.js';
