export * from './backend-store-factory.js';
export * from './conditional-writes.js';
export * from './driver-cold-store.js';
export * from './guarded-body.js';
export * from './metered-cold-store.js';
export * from './store-context.js';
export * from './store-layers.js';
export * from './direct-body.js';
