import { ConfigError } from '../errors/config-error.js';
import type { DriverLimits } from '../driver/cold-store-driver.js';
import { normalizePrefix } from '../keys/object-key.js';
import { S3_STORAGE_CLASSES, S3_UNREADABLE_STORAGE_CLASSES } from './s3-storage-classes.js';

const MIB = 1024 * 1024;

/** S3 refuses parts under 5 MiB (except the last) and over 5 GiB, and numbers them 1 to 10 000. */
export const S3_MIN_PART_SIZE_MB = 5;
export const S3_MAX_PART_SIZE_MB = 5120;
export const S3_MAX_PARTS = 10_000;
/** Keys per DeleteObjects request. */
export const S3_MAX_DELETE_BATCH = 1000;
/** Longest object name, in UTF-8 bytes. */
export const S3_MAX_NAME_BYTES = 1024;

/**
 * The config keys every S3-protocol backend shares (the rest, such as credentials and the
 * endpoint, are its client's), spread into each backend's schema.
 */
export const S3_PROTOCOL_SCHEMA = {
  bucket: { type: 'string', required: true, nonEmpty: true },
  /** Key prefix inside the bucket, e.g. `segments`; `''` for the bucket's root. */
  prefix: { type: 'string', default: '' },
  /**
   * Bytes per multipart part, in MiB; bodies shorter than one part go in a single PutObject.
   * 16, as MinIO's own client uses: MinIO spends CPU per part, and on the 2-core bench machine
   * 8 MiB parts left our 1 GiB uploads at 0.91x and 0.94x mc (docs/ARCHITECTURE.md, "Backends").
   */
  partSizeMb: { type: 'number', default: 16, min: S3_MIN_PART_SIZE_MB, max: S3_MAX_PART_SIZE_MB, integer: true },
  /** Parts in flight per put; a put holds at most partSizeMb × (queueSize + 1) MiB of body. */
  queueSize: { type: 'number', default: 4, min: 1, max: 64, integer: true },
  /** Server-side encryption asked for on every write. */
  sse: { type: 'string', oneOf: ['AES256', 'aws:kms', 'aws:kms:dsse'] },
  /** The KMS key for `sse: aws:kms`; the bucket's default key when omitted. */
  kmsKeyId: { type: 'string', nonEmpty: true },
  /** The storage class every object is written in (`STANDARD_IA`, `GLACIER_IR`, …); the bucket's default when omitted. */
  storageClass: { type: 'string', oneOf: S3_STORAGE_CLASSES },
} as const;

/** The shared keys as parsed. */
export interface S3ProtocolConfig {
  bucket: string;
  prefix: string;
  partSizeMb: number;
  queueSize: number;
  sse?: string | undefined;
  kmsKeyId?: string | undefined;
  storageClass?: string | undefined;
}

/** Refuses, with its reason, a storage class a config may name but not use. Call before parsing. */
export function assertUsableS3StorageClass(path: string, raw: unknown): void {
  const storageClass = (raw as { storageClass?: unknown } | null | undefined)?.storageClass;
  if (typeof storageClass === 'string' && storageClass in S3_UNREADABLE_STORAGE_CLASSES) {
    throw new ConfigError(`${path}.storageClass`, S3_UNREADABLE_STORAGE_CLASSES[storageClass]!);
  }
}

/** The checks across the shared keys; returns the config with its prefix normalised. */
export function checkS3ProtocolConfig<Config extends S3ProtocolConfig>(path: string, config: Config): Config {
  const prefix = normalizePrefix(config.prefix);
  if (prefix === undefined) throw new ConfigError(`${path}.prefix`, `not a valid key path: ${JSON.stringify(config.prefix)}`);
  if (config.kmsKeyId !== undefined && !config.sse?.startsWith('aws:kms')) {
    throw new ConfigError(`${path}.kmsKeyId`, 'only applies with sse "aws:kms" or "aws:kms:dsse"');
  }
  return { ...config, prefix };
}

/** How core drives an S3-protocol server with this config. */
export function s3DriverLimits(config: S3ProtocolConfig): DriverLimits {
  return {
    maxNameBytes: S3_MAX_NAME_BYTES,
    partSize: config.partSizeMb * MIB,
    partsInFlight: config.queueSize,
    maxParts: S3_MAX_PARTS,
    maxDeleteBatch: S3_MAX_DELETE_BATCH,
  };
}
