export { AzureColdStore } from './azure-cold-store.js';
export { provider } from './provider.js';
export { parseAzureConfig, type AzureConfig } from './config.js';
