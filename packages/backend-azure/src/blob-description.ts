import { splitChecksumMetadata, stripPrefix, type ObjectDescription } from '@takhin/core';
import { decodeMetadata } from './metadata-names.js';

/** The properties of a blob this backend reads (from Get Blob Properties or a listing). */
export interface BlobProperties {
  contentLength?: number;
  etag?: string;
  lastModified?: Date;
  /** As stored: Azure-encoded names (see metadata-names.ts). */
  metadata?: Record<string, string>;
}

/** A blob as a description under the store's `prefix`; both checksums come from metadata. */
export function describeBlob(prefix: string, name: string, properties: BlobProperties): ObjectDescription {
  const { metadata, checksums } = splitChecksumMetadata(decodeMetadata(properties.metadata));
  return {
    key: stripPrefix(prefix, name) ?? name,
    size: properties.contentLength ?? 0,
    etag: properties.etag,
    lastModified: properties.lastModified,
    checksums,
    metadata,
  };
}
