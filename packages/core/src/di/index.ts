export * from './create-container.js';
export * from './tiered-storage-config.js';
export * from './tokens.js';
