import { DriverColdStore, type StoreContext } from '@takhin/core';
import type { GcsConfig } from './config.js';
import { GcsDriver } from './driver.js';

/** A ColdStore on Google Cloud Storage: core's store around the GCS driver. */
export class GcsColdStore extends DriverColdStore<GcsDriver> {
  constructor(config: GcsConfig, context: StoreContext = {}) {
    super(new GcsDriver(config), { ...context, prefix: config.prefix });
  }
}
