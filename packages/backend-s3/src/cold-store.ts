import { DriverColdStore, type StoreContext } from '@takhin/core';
import type { S3Config } from './config.js';
import { S3Driver } from './driver.js';

/** A ColdStore on AWS S3 or any S3-compatible server: core's store around the S3 driver. */
export class S3ColdStore extends DriverColdStore<S3Driver> {
  constructor(config: S3Config, context: StoreContext = {}) {
    super(new S3Driver(config), { ...context, prefix: config.prefix });
  }
}
