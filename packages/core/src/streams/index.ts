export * from './fixed-size-chunks.js';
export * from './put-body.js';
export * from './bounded-part-uploads.js';
export * from './route-put-body.js';
