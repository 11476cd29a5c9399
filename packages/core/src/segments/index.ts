export * from './log-dir-scanner.js';
export * from './segment-path.js';
