import { ConfigError, normalizePrefix, parseConfigObject, type ConfigOf } from '@takhin/core';

export const GCS_CONFIG_PATH = 'storage.tiered.gcs';

/** GCS's resumable chunks must be multiples of 256 KiB (all but the last). */
export const GCS_CHUNK_GRANULE = 256 * 1024;

const MiB = 1024 * 1024;

const schema = {
  bucket: { type: 'string', required: true, nonEmpty: true },
  /** Key prefix inside the bucket, without leading or trailing `/`. */
  prefix: { type: 'string', default: '' },
  projectId: { type: 'string', nonEmpty: true },
  /** An emulator or private endpoint (`http://127.0.0.1:4443`); requests to it are anonymous. */
  endpoint: { type: 'string', nonEmpty: true },
  /** A service-account key file; without it, Application Default Credentials apply. */
  keyFilename: { type: 'string', nonEmpty: true },
  /**
   * Bytes per resumable-upload request, and so the put's memory bound; a multiple of 0.25.
   * Bodies shorter than one chunk go in a single multipart request instead.
   */
  chunkSizeMb: { type: 'number', default: 16, min: 0.25, max: 1024 },
} as const;

export type GcsConfig = ConfigOf<typeof schema>;

/** Validates a plain `storage.tiered.gcs` section; errors name the offending key. */
export function parseGcsConfig(raw: unknown): GcsConfig {
  const config = parseConfigObject(GCS_CONFIG_PATH, raw, schema);
  const prefix = normalizePrefix(config.prefix);
  if (prefix === undefined) throw new ConfigError(`${GCS_CONFIG_PATH}.prefix`, `not a valid key path: ${JSON.stringify(config.prefix)}`);
  if ((config.chunkSizeMb * MiB) % GCS_CHUNK_GRANULE !== 0) {
    throw new ConfigError(`${GCS_CONFIG_PATH}.chunkSizeMb`, `must be a multiple of 0.25 (256 KiB), got ${config.chunkSizeMb}`);
  }
  if (config.endpoint !== undefined && !URL.canParse(config.endpoint)) {
    throw new ConfigError(`${GCS_CONFIG_PATH}.endpoint`, `not a URL: ${JSON.stringify(config.endpoint)}`);
  }
  return { ...config, prefix };
}

export const chunkSizeBytes = (config: GcsConfig) => config.chunkSizeMb * MiB;
