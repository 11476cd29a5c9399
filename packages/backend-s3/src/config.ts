import { ConfigError, normalizePrefix, parseConfigObject, type ConfigOf } from '@takhin/core';

/** Where errors point: the YAML path of this backend's section. */
export const S3_CONFIG_PATH = 'storage.tiered.s3';

/** S3 refuses parts under 5 MiB (except the last) and over 5 GiB. */
const MIN_PART_SIZE_MB = 5;
const MAX_PART_SIZE_MB = 5120;

const schema = {
  bucket: { type: 'string', required: true, nonEmpty: true },
  region: { type: 'string', required: true, nonEmpty: true },
  /** Key prefix inside the bucket, e.g. `segments`; `''` for the bucket's root. */
  prefix: { type: 'string', default: '' },
  /** An S3-compatible endpoint URL (MinIO, Ceph, …); AWS's own when omitted. */
  endpoint: { type: 'string', nonEmpty: true },
  /** Path-style URLs (`endpoint/bucket/key`); MinIO and most S3-compatible stores need them. */
  forcePathStyle: { type: 'boolean' },
  /** Static credentials; without them the AWS default chain applies (env, profile, IMDS, …). */
  accessKeyId: { type: 'string', nonEmpty: true },
  secretAccessKey: { type: 'string', nonEmpty: true },
  sessionToken: { type: 'string', nonEmpty: true },
  /** Bytes per multipart part, in MiB; bodies up to one part go in a single PutObject. */
  partSizeMb: { type: 'number', default: 8, min: MIN_PART_SIZE_MB, max: MAX_PART_SIZE_MB, integer: true },
  /** Parts in flight per put; a put holds at most partSizeMb × queueSize MiB of body. */
  queueSize: { type: 'number', default: 4, min: 1, max: 64, integer: true },
  /** Server-side encryption asked for on every write. */
  sse: { type: 'string', oneOf: ['AES256', 'aws:kms', 'aws:kms:dsse'] },
  /** The KMS key for `sse: aws:kms`; the bucket's default key when omitted. */
  kmsKeyId: { type: 'string', nonEmpty: true },
} as const;

/** The `storage.tiered.s3` section: plain data, so a worker thread can rebuild the store. */
export type S3Config = ConfigOf<typeof schema>;

/** Validates a raw `storage.tiered.s3` section; every failure is a `ConfigError` naming the key. */
export function parseS3Config(raw: unknown): S3Config {
  const config = parseConfigObject(S3_CONFIG_PATH, raw, schema);
  const prefix = normalizePrefix(config.prefix);
  if (prefix === undefined) throw new ConfigError(`${S3_CONFIG_PATH}.prefix`, `not a valid key path: ${JSON.stringify(config.prefix)}`);
  if (config.endpoint !== undefined && !URL.canParse(config.endpoint)) {
    throw new ConfigError(`${S3_CONFIG_PATH}.endpoint`, `not a URL: ${JSON.stringify(config.endpoint)}`);
  }
  if ((config.accessKeyId === undefined) !== (config.secretAccessKey === undefined)) {
    const missing = config.accessKeyId === undefined ? 'accessKeyId' : 'secretAccessKey';
    throw new ConfigError(`${S3_CONFIG_PATH}.${missing}`, 'accessKeyId and secretAccessKey go together');
  }
  if (config.sessionToken !== undefined && config.accessKeyId === undefined) {
    throw new ConfigError(`${S3_CONFIG_PATH}.sessionToken`, 'needs accessKeyId and secretAccessKey');
  }
  if (config.kmsKeyId !== undefined && !config.sse?.startsWith('aws:kms')) {
    throw new ConfigError(`${S3_CONFIG_PATH}.kmsKeyId`, 'only applies with sse "aws:kms" or "aws:kms:dsse"');
  }
  return { ...config, prefix };
}
