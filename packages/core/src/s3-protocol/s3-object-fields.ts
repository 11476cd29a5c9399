import type { IncomingHttpHeaders } from 'node:http';
import { splitChecksumMetadata, withChecksumMetadata } from '../checksums/object-metadata.js';
import type { Checksums } from '../contracts/cold-store.js';
import type { StoredObject } from '../driver/cold-store-driver.js';
import { S3_DEFAULT_STORAGE_CLASS } from './s3-storage-classes.js';

/** User metadata travels as `x-amz-meta-<name>` headers. */
export const S3_METADATA_HEADER_PREFIX = 'x-amz-meta-';

/** What an S3 HEAD (or GET) says about an object, whichever client read it. */
export interface S3ObjectFields {
  size: number;
  etag?: string | undefined;
  lastModified?: Date | undefined;
  /** `x-amz-meta-*` values by name (prefix removed). */
  metadata?: Record<string, string> | undefined;
  /** The server's own CRC32C of the object (asked for with `x-amz-checksum-mode: ENABLED`). */
  checksumCrc32c?: string | undefined;
  /** `FULL_OBJECT`, or `COMPOSITE` (a checksum of the parts' checksums, not the object's). */
  checksumType?: string | undefined;
  serverSideEncryption?: string | undefined;
  storageClass?: string | undefined;
}

/**
 * An object's description from S3 fields: the server's full-object CRC32C wins over ours in
 * metadata (it is the one the server verified); a missing class is S3's default one.
 */
export function describeS3Object(name: string, fields: S3ObjectFields): StoredObject {
  const { metadata, checksums } = splitChecksumMetadata(fields.metadata);
  if (fields.checksumCrc32c && fields.checksumType !== 'COMPOSITE') checksums.crc32c = fields.checksumCrc32c;
  return {
    name,
    size: fields.size,
    etag: fields.etag,
    lastModified: fields.lastModified,
    checksums,
    metadata,
    serverSideEncryption: fields.serverSideEncryption,
    storageClass: fields.storageClass ?? S3_DEFAULT_STORAGE_CLASS,
  };
}

/** The S3 fields of a raw HEAD response's headers (for clients that hand back headers). */
export function s3FieldsFromHeaders(headers: IncomingHttpHeaders): S3ObjectFields {
  const metadata: Record<string, string> = {};
  for (const [header, value] of Object.entries(headers)) {
    if (header.startsWith(S3_METADATA_HEADER_PREFIX) && typeof value === 'string') metadata[header.slice(S3_METADATA_HEADER_PREFIX.length)] = value;
  }
  const lastModified = first(headers['last-modified']);
  return {
    size: Number(first(headers['content-length']) ?? 0),
    etag: first(headers.etag),
    lastModified: lastModified === undefined ? undefined : new Date(lastModified),
    metadata,
    checksumCrc32c: first(headers['x-amz-checksum-crc32c']),
    checksumType: first(headers['x-amz-checksum-type']),
    serverSideEncryption: first(headers['x-amz-server-side-encryption']),
    storageClass: first(headers['x-amz-storage-class']),
  };
}

/** What every write carries besides its bytes: the object's settings and metadata. */
export interface S3WriteSettings {
  metadata: Record<string, string>;
  /** Checksums known before the first byte is sent, kept in metadata. */
  checksums: Partial<Checksums>;
  sse?: string | undefined;
  kmsKeyId?: string | undefined;
  storageClass?: string | undefined;
}

/** A write's settings as S3 request headers (for clients that take raw headers). */
export function s3WriteHeaders(settings: S3WriteSettings): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
  if (settings.sse !== undefined) headers['x-amz-server-side-encryption'] = settings.sse;
  if (settings.kmsKeyId !== undefined) headers['x-amz-server-side-encryption-aws-kms-key-id'] = settings.kmsKeyId;
  if (settings.storageClass !== undefined) headers['x-amz-storage-class'] = settings.storageClass;
  for (const [name, value] of Object.entries(withChecksumMetadata(settings.metadata, settings.checksums))) headers[S3_METADATA_HEADER_PREFIX + name] = value;
  return headers;
}

/**
 * The first real failure of a quiet DeleteObjects answer (missing keys are not failures), as
 * the code and message to map, or `undefined` when every key went.
 */
export function s3BatchDeleteFailure(errors: ReadonlyArray<{ Key?: string | undefined; Code?: string | undefined; Message?: string | undefined }>) {
  const failed = errors.find((entry) => entry.Code !== 'NoSuchKey');
  return failed && { name: failed.Key, code: failed.Code, message: failed.Message ?? failed.Code ?? 'DeleteObjects failed' };
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
