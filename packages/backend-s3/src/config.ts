import { assertUsableS3StorageClass, checkS3ProtocolConfig, ConfigError, parseConfigObject, S3_PROTOCOL_SCHEMA, type ConfigOf } from '@takhin/core';

/** Where errors point: the YAML path of this backend's section. */
export const S3_CONFIG_PATH = 'storage.tiered.s3';

const schema = {
  ...S3_PROTOCOL_SCHEMA,
  region: { type: 'string', required: true, nonEmpty: true },
  /** An S3-compatible endpoint URL (MinIO, Ceph, …); AWS's own when omitted. */
  endpoint: { type: 'string', nonEmpty: true, httpUrl: true },
  /** Path-style URLs (`endpoint/bucket/key`); MinIO and most S3-compatible stores need them. */
  forcePathStyle: { type: 'boolean' },
  /** Static credentials; without them the AWS default chain applies (env, profile, IMDS, …). */
  accessKeyId: { type: 'string', nonEmpty: true },
  secretAccessKey: { type: 'string', nonEmpty: true },
  sessionToken: { type: 'string', nonEmpty: true },
} as const;

/** The `storage.tiered.s3` section: plain data, so a worker thread can rebuild the store. */
export type S3Config = ConfigOf<typeof schema>;

/** Validates a raw `storage.tiered.s3` section; every failure is a `ConfigError` naming the key. */
export function parseS3Config(raw: unknown): S3Config {
  assertUsableS3StorageClass(S3_CONFIG_PATH, raw);
  const config = checkS3ProtocolConfig(S3_CONFIG_PATH, parseConfigObject(S3_CONFIG_PATH, raw, schema));
  if ((config.accessKeyId === undefined) !== (config.secretAccessKey === undefined)) {
    const missing = config.accessKeyId === undefined ? 'accessKeyId' : 'secretAccessKey';
    throw new ConfigError(`${S3_CONFIG_PATH}.${missing}`, 'accessKeyId and secretAccessKey go together');
  }
  if (config.sessionToken !== undefined && config.accessKeyId === undefined) {
    throw new ConfigError(`${S3_CONFIG_PATH}.sessionToken`, 'needs accessKeyId and secretAccessKey');
  }
  return config;
}
