export { parseFsConfig, type FsConfig } from './config.js';
export { FsColdStore, FS_WRITE_BUFFER_BYTES } from './fs-cold-store.js';
export { provider } from './provider.js';
