import { invalidKey } from '../errors/factories.js';

/** S3's and GCS's limit; Azure allows more, filesystems fewer per path segment. */
export const DEFAULT_MAX_KEY_BYTES = 1024;

// C0 controls, DEL and C1 controls: invisible in logs and mangled by some servers.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Why `key` is not a valid object key, or `undefined` when it is. Keys are `/`-separated,
 * relative, without empty, `.` or `..` segments, control characters or backslashes, and at
 * most `maxBytes` UTF-8 bytes.
 */
export function describeInvalidKey(key: unknown, maxBytes = DEFAULT_MAX_KEY_BYTES): string | undefined {
  if (typeof key !== 'string') return 'a key must be a string';
  if (key.length === 0) return 'a key must not be empty';
  if (key.startsWith('/')) return 'a key must be relative (no leading "/")';
  if (key.includes('\\')) return 'a key must not contain "\\"';
  if (CONTROL_CHARACTERS.test(key)) return 'a key must not contain control characters';
  if (!key.isWellFormed()) return 'a key must be well-formed Unicode';
  for (const segment of key.split('/')) {
    if (segment === '') return 'a key must not contain empty segments ("//" or a trailing "/")';
    if (segment === '.' || segment === '..') return `a key must not contain a "${segment}" segment`;
  }
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > maxBytes) return `a key must be at most ${maxBytes} UTF-8 bytes (this one is ${bytes})`;
  return undefined;
}

/** Throws `INVALID_KEY` (naming the backend and the reason) unless `key` is valid. */
export function assertValidKey(backend: string, key: unknown, maxBytes = DEFAULT_MAX_KEY_BYTES): asserts key is string {
  const reason = describeInvalidKey(key, maxBytes);
  if (reason !== undefined) throw invalidKey(backend, key, reason);
}

/**
 * A list prefix may be empty or end in `/` (a folder); otherwise it follows key rules,
 * so a prefix can never climb out of the backend's own prefix.
 */
export function assertValidPrefix(backend: string, prefix: unknown, maxBytes = DEFAULT_MAX_KEY_BYTES): asserts prefix is string {
  if (prefix === '') return;
  if (typeof prefix !== 'string') throw invalidKey(backend, prefix, 'a prefix must be a string');
  const trimmed = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  const reason = describeInvalidKey(trimmed, maxBytes);
  if (reason !== undefined) throw invalidKey(backend, prefix, reason.replace('a key', 'a prefix'));
}

/**
 * A backend's configured prefix, normalised: no leading or trailing `/`, `''` for none.
 * Returns `undefined` if it is not a valid key path.
 */
export function normalizePrefix(prefix: string): string | undefined {
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  if (trimmed === '') return '';
  return describeInvalidKey(trimmed) === undefined ? trimmed : undefined;
}

/** Joins a backend's normalised prefix and a key: `segments` + `a/b` → `segments/a/b`. */
export function joinKey(prefix: string, key: string): string {
  return prefix === '' ? key : `${prefix}/${key}`;
}

/** The inverse of `joinKey`; `undefined` when `fullKey` lies outside `prefix`. */
export function stripPrefix(prefix: string, fullKey: string): string | undefined {
  if (prefix === '') return fullKey;
  return fullKey.startsWith(`${prefix}/`) ? fullKey.slice(prefix.length + 1) : undefined;
}
