import { DriverColdStore, type StoreContext } from '@takhin/core';
import type { MinioConfig } from './config.js';
import { MinioDriver } from './driver.js';

/** A ColdStore on MinIO through its own client: core's store around the MinIO driver. */
export class MinioColdStore extends DriverColdStore<MinioDriver> {
  constructor(config: MinioConfig, context: StoreContext = {}) {
    super(new MinioDriver(config), { ...context, prefix: config.prefix });
  }
}
