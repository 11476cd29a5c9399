export * from './checksums.js';
export * from './crc32c-combine.js';
export * from './object-metadata.js';
