import type { TieredSettings } from '../config/takhin-config.js';
import { ConfigError } from '../errors/config-error.js';
import { InMemoryMetadataStore } from './in-memory-metadata-store.js';
import type { MetadataStore } from './metadata-store.js';
import { SqliteMetadataStore } from './sqlite-metadata-store.js';

/**
 * The store `storage.tiered.metadata.store` names: SQLite at `metadata.path` (default), or memory.
 * Given `dataDir` (`storage.data.dir`), the SQLite file is bound to it and refuses another.
 */
export function createMetadataStore(settings: TieredSettings, dataDir?: string): MetadataStore {
  if (settings.metadata.store === 'memory') return new InMemoryMetadataStore();
  if (settings.metadata.path === undefined) {
    throw new ConfigError('storage.data.dir', 'is required to keep segment metadata (or set storage.tiered.metadata.path)');
  }
  return new SqliteMetadataStore(settings.metadata.path, { dataDir });
}
