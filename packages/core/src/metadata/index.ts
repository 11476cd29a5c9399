export * from './in-memory-metadata-store.js';
export * from './metadata-store.js';
export * from './segment-index.js';
export * from './segment-record.js';
export * from './sqlite-metadata-store.js';
export * from './create-metadata-store.js';
export { RECORD_PAGE_SIZE } from './record-pages.js';
