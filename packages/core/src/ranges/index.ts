export * from './byte-range.js';
