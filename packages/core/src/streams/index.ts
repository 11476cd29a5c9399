export * from './bounded-part-uploads.js';
export * from './put-body.js';
