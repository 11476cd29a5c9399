export * from './cold-store-error.js';
export * from './config-error.js';
export * from './factories.js';
export * from './signals.js';
export * from './tiering-error.js';
