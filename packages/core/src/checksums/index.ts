export * from './checksums.js';
export * from './object-metadata.js';
