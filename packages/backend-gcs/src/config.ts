import { ConfigError, normalizePrefix, parseConfigObject, type ConfigOf } from '@takhin/core';

export const GCS_CONFIG_PATH = 'storage.tiered.gcs';

/** GCS's resumable chunks must be multiples of 256 KiB (all but the last). */
export const GCS_CHUNK_GRANULE = 256 * 1024;

/** GCS storage classes; every one is read at once (ARCHIVE too: it costs more to read, not longer). */
export const GCS_STORAGE_CLASSES = ['STANDARD', 'NEARLINE', 'COLDLINE', 'ARCHIVE'] as const;

const MiB = 1024 * 1024;

const schema = {
  bucket: { type: 'string', required: true, nonEmpty: true },
  /** Key prefix inside the bucket, without leading or trailing `/`. */
  prefix: { type: 'string', default: '' },
  projectId: { type: 'string', nonEmpty: true },
  /** An emulator or private endpoint (`http://127.0.0.1:4443`); requests to it are anonymous. */
  endpoint: { type: 'string', nonEmpty: true, httpUrl: true },
  /** A service-account key file; without it, Application Default Credentials apply. */
  keyFilename: { type: 'string', nonEmpty: true },
  /**
   * Bytes per resumable-upload request (the part size), a multiple of 0.25. Bodies shorter than
   * one chunk go in a single request instead; a put holds at most two chunks of body.
   */
  chunkSizeMb: { type: 'number', default: 16, min: 0.25, max: 1024 },
  /** The storage class every object is written in; the bucket's default when omitted. */
  storageClass: { type: 'string', oneOf: GCS_STORAGE_CLASSES },
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
  return { ...config, prefix };
}

export const chunkSizeBytes = (config: GcsConfig) => config.chunkSizeMb * MiB;
