import { assertUsableS3StorageClass, checkS3ProtocolConfig, parseConfigObject, S3_PROTOCOL_SCHEMA, type ConfigOf } from '@takhin/core';

/** Where errors point: the YAML path of this backend's section. */
export const MINIO_CONFIG_PATH = 'storage.tiered.minio';

const schema = {
  ...S3_PROTOCOL_SCHEMA,
  /** The server's URL, e.g. `http://127.0.0.1:9000`; `https:` turns TLS on. */
  endpoint: { type: 'string', required: true, nonEmpty: true, httpUrl: 'origin' },
  accessKey: { type: 'string', required: true, nonEmpty: true },
  secretKey: { type: 'string', required: true, nonEmpty: true },
  sessionToken: { type: 'string', nonEmpty: true },
  region: { type: 'string', default: 'us-east-1', nonEmpty: true },
} as const;

/** The `storage.tiered.minio` section: plain data, so a worker thread can rebuild the store. */
export type MinioConfig = ConfigOf<typeof schema>;

/** Validates a raw `storage.tiered.minio` section; every failure is a `ConfigError` naming the key. */
export function parseMinioConfig(raw: unknown): MinioConfig {
  assertUsableS3StorageClass(MINIO_CONFIG_PATH, raw);
  return checkS3ProtocolConfig(MINIO_CONFIG_PATH, parseConfigObject(MINIO_CONFIG_PATH, raw, schema));
}
