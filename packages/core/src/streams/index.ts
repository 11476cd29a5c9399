export * from './fixed-size-chunks.js';
export * from './put-body.js';
