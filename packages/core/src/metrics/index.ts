export * from './in-memory-store-metrics.js';
export * from './store-metrics.js';
export * from './store-metrics-token.js';
