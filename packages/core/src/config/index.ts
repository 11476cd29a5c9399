export * from './config-schema.js';
export * from './load-config.js';
export * from './takhin-config.js';
export * from './takhin-settings.js';
export { environmentName } from './environment-overrides.js';
