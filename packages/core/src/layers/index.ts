export * from './driver-layer.js';
export * from './error-mapping-layer.js';
export * from './layered-driver.js';
export * from './metrics-layer.js';
export * from './retry-layer.js';
