export * from './pending-aborts.js';
