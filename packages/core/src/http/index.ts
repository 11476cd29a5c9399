export * from './plain-get.js';
