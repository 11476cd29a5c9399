/**
 * Azure metadata names must be C# identifiers: no `-`, no leading digit. Portable keys
 * (`[a-z0-9][a-z0-9-]*`, see core's describeInvalidMetadata) never contain `_`, so `-` ↔ `_`
 * and a `_` before a leading digit round-trip exactly (`takhin-sha256` ↔ `takhin_sha256`,
 * `2nd-try` ↔ `_2nd_try`).
 */
export function encodeMetadata(metadata: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(metadata).map(([key, value]) => [key.replace(/-/g, '_').replace(/^(?=\d)/, '_'), value]));
}

/** The inverse of `encodeMetadata`. */
export function decodeMetadata(metadata: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(metadata ?? {}).map(([key, value]) => [key.toLowerCase().replace(/^_(?=\d)/, '').replace(/_/g, '-'), value]));
}
