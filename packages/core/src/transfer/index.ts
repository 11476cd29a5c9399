export * from './atomic-download.js';
export * from './file-checksum.js';
export * from './file-upload.js';
export * from './sync-directory.js';
export * from './transfer-error.js';
export * from './transfer-pool.js';
export * from './transfer-pool-options.js';
export type { DownloadResult, FileChecksums, UploadResult } from './transfer-task.js';
export * from './direct-io.js';
