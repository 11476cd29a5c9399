import { splitChecksumMetadata, type StoredObject } from '@takhin/core';

/** The fields of a GCS object resource (JSON API) this backend reads. */
export interface ObjectResource {
  name?: string;
  size?: string | number;
  etag?: string;
  updated?: string;
  /** GCS's own CRC32C of the stored bytes (base64, big-endian): the server computed it. */
  crc32c?: string;
  generation?: string | number;
  metageneration?: string | number;
  storageClass?: string;
  metadata?: Record<string, string | null | undefined> | null;
}

/**
 * An object resource as a description. CRC32C comes from the server's own field; SHA-256 from
 * our metadata (GCS has no SHA-256 of its own).
 */
export function describeObject(resource: ObjectResource): StoredObject {
  const stored: Record<string, string> = {};
  for (const [key, value] of Object.entries(resource.metadata ?? {})) if (typeof value === 'string') stored[key] = value;
  const { metadata, checksums } = splitChecksumMetadata(stored);
  if (resource.crc32c) checksums.crc32c = resource.crc32c;
  return {
    name: resource.name ?? '',
    size: Number(resource.size ?? 0),
    etag: resource.etag,
    lastModified: resource.updated ? new Date(resource.updated) : undefined,
    checksums,
    metadata,
    storageClass: resource.storageClass,
  };
}
