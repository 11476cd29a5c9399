export { S3ColdStore } from './s3-cold-store.js';
export { provider } from './provider.js';
export { parseS3Config } from './config.js';
export type { S3Config } from './config.js';
