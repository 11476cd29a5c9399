export { FsColdStore } from './cold-store.js';
export { parseFsConfig, type FsConfig } from './config.js';
export { FsDriver, FS_WRITE_BUFFER_BYTES } from './driver.js';
export { provider } from './provider.js';
