export * from './retry-after.js';
export * from './retry-policy.js';
export * from './retrying-cold-store.js';
