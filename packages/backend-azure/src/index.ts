export { AzureColdStore } from './cold-store.js';
export { AZURE_ACCESS_TIERS, parseAzureConfig, type AzureConfig } from './config.js';
export { AzureDriver } from './driver.js';
export { provider } from './provider.js';
