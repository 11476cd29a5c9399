export * from './chunk-buffers.js';
export * from './chunk-cache.js';
export * from './index-cache.js';
export * from './read-arguments.js';
export * from './remote-read-counters.js';
export * from './remote-reads.js';
