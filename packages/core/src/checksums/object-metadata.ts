import type { Checksums } from '../contracts/cold-store.js';

/**
 * Metadata keys under which backends keep the whole-object checksums beside user metadata.
 * Shared so any tool can read them, whichever backend wrote the object.
 */
export const CHECKSUM_METADATA_KEYS = {
  crc32c: 'takhin-crc32c',
  sha256: 'takhin-sha256',
} as const;

const RESERVED_PREFIX = 'takhin-';
const USER_METADATA_KEY = /^[a-z0-9][a-z0-9-]*$/;
const USER_METADATA_VALUE = /^[\x20-\x7e]*$/;

/**
 * Why user metadata cannot be stored portably, or `undefined`. Keys are lowercase ASCII words
 * (every backend lowercases or rejects others), values printable ASCII (HTTP headers).
 */
export function describeInvalidMetadata(metadata: Record<string, string> | undefined): string | undefined {
  for (const [key, value] of Object.entries(metadata ?? {})) {
    if (!USER_METADATA_KEY.test(key)) return `metadata key ${JSON.stringify(key)} must match ${USER_METADATA_KEY}`;
    if (key.startsWith(RESERVED_PREFIX)) return `metadata key ${JSON.stringify(key)} uses the reserved prefix "${RESERVED_PREFIX}"`;
    if (typeof value !== 'string' || !USER_METADATA_VALUE.test(value)) {
      return `metadata value for ${JSON.stringify(key)} must be printable ASCII`;
    }
  }
  return undefined;
}

/** User metadata plus the checksums, ready to store with an object. */
export function withChecksumMetadata(
  user: Record<string, string> | undefined,
  checksums: Partial<Checksums>,
): Record<string, string> {
  const stored: Record<string, string> = { ...user };
  if (checksums.crc32c !== undefined) stored[CHECKSUM_METADATA_KEYS.crc32c] = checksums.crc32c;
  if (checksums.sha256 !== undefined) stored[CHECKSUM_METADATA_KEYS.sha256] = checksums.sha256;
  return stored;
}

/** Splits stored metadata back into user metadata and checksums; keys are compared lowercase. */
export function splitChecksumMetadata(stored: Record<string, string> | undefined): {
  metadata: Record<string, string>;
  checksums: Partial<Checksums>;
} {
  const metadata: Record<string, string> = {};
  const checksums: Partial<Checksums> = {};
  for (const [rawKey, value] of Object.entries(stored ?? {})) {
    const key = rawKey.toLowerCase();
    if (key === CHECKSUM_METADATA_KEYS.crc32c) checksums.crc32c = value;
    else if (key === CHECKSUM_METADATA_KEYS.sha256) checksums.sha256 = value;
    else if (!key.startsWith(RESERVED_PREFIX)) metadata[key] = value;
  }
  return { metadata, checksums };
}

/** Throws a `TypeError` naming the bad entry unless `metadata` can be stored on every backend. */
export function assertValidMetadata(backend: string, metadata: Record<string, string> | undefined): void {
  const reason = describeInvalidMetadata(metadata);
  if (reason !== undefined) throw new TypeError(`${backend}: ${reason}`);
}
