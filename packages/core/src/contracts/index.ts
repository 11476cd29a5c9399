export * from './backend-provider.js';
export * from './cold-store.js';
