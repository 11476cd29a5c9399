export * from './cold-store-driver.js';
