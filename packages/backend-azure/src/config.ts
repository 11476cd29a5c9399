import { ConfigError, normalizePrefix, parseConfigObject, type ConfigOf } from '@takhin/core';

export const AZURE_CONFIG_PATH = 'storage.tiered.azure';

const MiB = 1024 * 1024;

const schema = {
  container: { type: 'string', required: true, nonEmpty: true },
  /** Key prefix inside the container, without leading or trailing `/`. */
  prefix: { type: 'string', default: '' },
  /** A full connection string (Azurite's, or an account's); excludes the other credentials. */
  connectionString: { type: 'string', nonEmpty: true },
  /** `https://<account>.blob.core.windows.net` (or Azurite's `http://127.0.0.1:10000/<account>`). */
  accountUrl: { type: 'string', nonEmpty: true },
  accountName: { type: 'string', nonEmpty: true },
  accountKey: { type: 'string', nonEmpty: true },
  /** A SAS token (with or without the leading `?`) used with `accountUrl`. */
  sasToken: { type: 'string', nonEmpty: true },
  /** Bytes per staged block; bodies that fit in one block go in a single Put Blob. */
  blockSizeMb: { type: 'number', default: 8, min: 0.0625, max: 4000 },
  /** Blocks staged at once per put; memory is about (concurrency + 1) × block size. */
  concurrency: { type: 'number', default: 4, min: 1, max: 64, integer: true },
} as const;

export type AzureConfig = ConfigOf<typeof schema>;

/** Validates a plain `storage.tiered.azure` section; errors name the offending key. */
export function parseAzureConfig(raw: unknown): AzureConfig {
  const config = parseConfigObject(AZURE_CONFIG_PATH, raw, schema);
  const at = (key: string) => `${AZURE_CONFIG_PATH}.${key}`;
  const prefix = normalizePrefix(config.prefix);
  if (prefix === undefined) throw new ConfigError(at('prefix'), `not a valid key path: ${JSON.stringify(config.prefix)}`);
  if (config.connectionString !== undefined) {
    for (const key of ['accountUrl', 'accountName', 'accountKey', 'sasToken'] as const) {
      if (config[key] !== undefined) throw new ConfigError(at(key), 'cannot be combined with connectionString');
    }
  } else {
    if (config.accountUrl === undefined) throw new ConfigError(at('accountUrl'), 'is required unless connectionString is given');
    if (!URL.canParse(config.accountUrl)) throw new ConfigError(at('accountUrl'), `not a URL: ${JSON.stringify(config.accountUrl)}`);
    if (config.accountKey !== undefined && config.accountName === undefined) throw new ConfigError(at('accountName'), 'is required with accountKey');
    if (config.accountKey !== undefined && config.sasToken !== undefined) throw new ConfigError(at('sasToken'), 'cannot be combined with accountKey');
  }
  return { ...config, prefix };
}

export const blockSizeBytes = (config: AzureConfig) => Math.floor(config.blockSizeMb * MiB);
