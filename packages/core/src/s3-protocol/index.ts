export * from './s3-config.js';
export * from './s3-errors.js';
export * from './s3-object-fields.js';
export * from './s3-storage-classes.js';
export * from './s3-protocol-driver.js';
export * from './sign-s3-read.js';
