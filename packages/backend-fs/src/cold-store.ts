import { DriverColdStore, type StoreContext } from '@takhin/core';
import type { FsConfig } from './config.js';
import { FsDriver } from './driver.js';

/**
 * A cold store on a local (or mounted) filesystem, the embedded default: core's store around
 * the FS driver (see driver.ts for files, sidecars and races).
 */
export class FsColdStore extends DriverColdStore<FsDriver> {
  constructor(config: FsConfig, context: StoreContext = {}) {
    super(new FsDriver(config), context);
  }
}
