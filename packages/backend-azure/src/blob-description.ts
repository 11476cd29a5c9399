import { splitChecksumMetadata, type StoredObject } from '@takhin/core';
import { decodeMetadata } from './metadata-names.js';

/** The properties of a blob this backend reads (from Get Blob Properties or a listing). */
export interface BlobProperties {
  contentLength?: number | undefined;
  etag?: string | undefined;
  lastModified?: Date | undefined;
  accessTier?: string | undefined;
  /** As stored: Azure-encoded names (see metadata-names.ts). */
  metadata?: Record<string, string> | undefined;
}

/** A blob as a description; both checksums come from metadata (Azure keeps no CRC32C). */
export function describeBlob(name: string, properties: BlobProperties): StoredObject {
  const { metadata, checksums } = splitChecksumMetadata(decodeMetadata(properties.metadata));
  return {
    name,
    size: properties.contentLength ?? 0,
    etag: properties.etag,
    lastModified: properties.lastModified,
    checksums,
    metadata,
    storageClass: properties.accessTier,
  };
}
