import { parseConfigObject, type ConfigOf } from '@takhin/core';

const FS_CONFIG_SCHEMA = {
  /** The folder objects live under; created on first put. */
  root: { type: 'string', required: true, nonEmpty: true },
} as const;

export type FsConfig = ConfigOf<typeof FS_CONFIG_SCHEMA>;

/** Validates `storage.tiered.fs`; throws `ConfigError` naming the bad key. */
export function parseFsConfig(raw: unknown): FsConfig {
  return parseConfigObject('storage.tiered.fs', raw, FS_CONFIG_SCHEMA);
}
