import type { DependencyContainer } from 'tsyringe';
import { TieredStorage } from './tiered-storage.js';
import type { OpenOptions } from './tiered-storage-options.js';

/**
 * The entry point: resolves `TieredStorage` from a container made by `createContainer` (with
 * whatever you registered on it since), opens the metadata and scans the data dir.
 *
 *   const tiered = await openTieredStorage(container);
 */
export async function openTieredStorage(container: DependencyContainer, options: OpenOptions = {}): Promise<TieredStorage> {
  const tiered = container.resolve(TieredStorage);
  try {
    await tiered.open(options);
  } catch (error) {
    await tiered.close().catch(() => {});
    throw error;
  }
  return tiered;
}
