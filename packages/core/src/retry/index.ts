export * from './retry-policy.js';
export * from './retrying-cold-store.js';
