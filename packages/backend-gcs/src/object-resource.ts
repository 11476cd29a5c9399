import { splitChecksumMetadata, stripPrefix, type ObjectDescription } from '@takhin/core';

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
  metadata?: Record<string, string | null | undefined> | null;
}

/**
 * An object resource as a description under the store's `prefix`. CRC32C comes from the
 * server's own field; SHA-256 from our metadata (GCS has no SHA-256 of its own).
 */
export function describeObject(prefix: string, resource: ObjectResource): ObjectDescription {
  const name = resource.name ?? '';
  const stored: Record<string, string> = {};
  for (const [key, value] of Object.entries(resource.metadata ?? {})) if (typeof value === 'string') stored[key] = value;
  const { metadata, checksums } = splitChecksumMetadata(stored);
  if (resource.crc32c) checksums.crc32c = resource.crc32c;
  return {
    key: stripPrefix(prefix, name) ?? name,
    size: Number(resource.size ?? 0),
    etag: resource.etag,
    lastModified: resource.updated ? new Date(resource.updated) : undefined,
    checksums,
    metadata,
  };
}
