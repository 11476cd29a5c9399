import { ConfigError, normalizePrefix, parseConfigObject, type ConfigOf } from '@takhin/core';

/** Where errors point: the YAML path of this backend's section. */
export const MINIO_CONFIG_PATH = 'storage.tiered.minio';

const schema = {
  /** The server's URL, e.g. `http://127.0.0.1:9000`; `https:` turns TLS on. */
  endpoint: { type: 'string', required: true, nonEmpty: true },
  accessKey: { type: 'string', required: true, nonEmpty: true },
  secretKey: { type: 'string', required: true, nonEmpty: true },
  sessionToken: { type: 'string', nonEmpty: true },
  bucket: { type: 'string', required: true, nonEmpty: true },
  /** Key prefix inside the bucket, e.g. `segments`; `''` for the bucket's root. */
  prefix: { type: 'string', default: '' },
  region: { type: 'string', default: 'us-east-1', nonEmpty: true },
  /** Bytes per multipart part, in MiB (S3 protocol limits: 5 MiB to 5 GiB). */
  partSizeMb: { type: 'number', default: 8, min: 5, max: 5120, integer: true },
  /** Parts in flight per put; a put holds at most partSizeMb × queueSize MiB of body. */
  queueSize: { type: 'number', default: 4, min: 1, max: 64, integer: true },
  /** Server-side encryption asked for on every write (MinIO needs a KMS for either). */
  sse: { type: 'string', oneOf: ['AES256', 'aws:kms'] },
  /** The KMS key for `sse: aws:kms`; the server's default key when omitted. */
  kmsKeyId: { type: 'string', nonEmpty: true },
} as const;

/** The `storage.tiered.minio` section: plain data, so a worker thread can rebuild the store. */
export type MinioConfig = ConfigOf<typeof schema>;

/** Validates a raw `storage.tiered.minio` section; every failure is a `ConfigError` naming the key. */
export function parseMinioConfig(raw: unknown): MinioConfig {
  const config = parseConfigObject(MINIO_CONFIG_PATH, raw, schema);
  const prefix = normalizePrefix(config.prefix);
  if (prefix === undefined) throw new ConfigError(`${MINIO_CONFIG_PATH}.prefix`, `not a valid key path: ${JSON.stringify(config.prefix)}`);
  const url = URL.parse(config.endpoint);
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || (url.pathname !== '/' && url.pathname !== '')) {
    throw new ConfigError(`${MINIO_CONFIG_PATH}.endpoint`, `expected an http(s) URL without a path, got ${JSON.stringify(config.endpoint)}`);
  }
  if (config.kmsKeyId !== undefined && config.sse !== 'aws:kms') {
    throw new ConfigError(`${MINIO_CONFIG_PATH}.kmsKeyId`, 'only applies with sse "aws:kms"');
  }
  return { ...config, prefix };
}
