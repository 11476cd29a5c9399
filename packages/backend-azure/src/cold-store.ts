import { DriverColdStore, type StoreContext } from '@takhin/core';
import type { AzureConfig } from './config.js';
import { AzureDriver } from './driver.js';

/** A ColdStore on Azure Blob Storage: core's store around the Azure driver. */
export class AzureColdStore extends DriverColdStore<AzureDriver> {
  constructor(config: AzureConfig, context: StoreContext = {}) {
    super(new AzureDriver(config), { ...context, prefix: config.prefix });
  }
}
