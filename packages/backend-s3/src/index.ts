export { S3ColdStore } from './cold-store.js';
export { parseS3Config, type S3Config } from './config.js';
export { S3Driver } from './driver.js';
export { provider } from './provider.js';
