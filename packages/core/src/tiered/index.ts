export * from './open-tiered-storage.js';
export * from './segment-catalog.js';
export * from './tiered-events.js';
export * from './tiered-storage.js';
