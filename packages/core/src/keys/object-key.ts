import { invalidKey } from '../errors/factories.js';

/** S3's and GCS's limit; Azure allows more, filesystems fewer per path segment. */
export const DEFAULT_MAX_KEY_BYTES = 1024;

/**
 * The longest `/`-separated segment of a key, in UTF-8 bytes. Filesystems (and the servers
 * that keep objects as files: MinIO, fake-gcs-server, the FS backend) take 255 per name; one
 * rule for every backend keeps a key valid wherever it moves.
 */
export const MAX_KEY_SEGMENT_BYTES = 255;

/** The first segment the stores keep for themselves (probes, temp files); no key may use it. */
export const RESERVED_KEY_SEGMENT = '.takhin';

// C0 controls, DEL and C1 controls: invisible in logs and mangled by some servers.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Unicode's 66 noncharacters: U+FDD0–U+FDEF and the last two code points of every plane
 * (U+FFFE, U+FFFF, U+1FFFE, …). XML 1.0 cannot carry U+FFFE or U+FFFF, so S3-protocol
 * listings return them as U+FFFD and such a key could never be got or deleted by its listed
 * name; the rest are refused with them, since no server promises to keep them either.
 */
const NONCHARACTERS = new RegExp(
  `[\\u{FDD0}-\\u{FDEF}${Array.from({ length: 17 }, (_, plane) => `\\u{${(plane * 0x10000 + 0xfffe).toString(16)}}\\u{${(plane * 0x10000 + 0xffff).toString(16)}}`).join('')}]`,
  'u',
);

/** `U+FFFE`, `U+1FFFF`: how messages name a code point. */
function codePointName(char: string): string {
  return `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * Why `path` is not a valid `/`-separated key path, or `undefined`: relative, without empty,
 * `.` or `..` segments, control characters, backslashes, noncharacters or ill-formed Unicode,
 * each segment at most 255 UTF-8 bytes and the whole at most `maxBytes`.
 */
function describeInvalidPath(path: string, maxBytes: number): string | undefined {
  if (path.length === 0) return 'a key must not be empty';
  if (path.startsWith('/')) return 'a key must be relative (no leading "/")';
  if (path.includes('\\')) return 'a key must not contain "\\"';
  if (CONTROL_CHARACTERS.test(path)) return 'a key must not contain control characters';
  if (!path.isWellFormed()) return 'a key must be well-formed Unicode';
  const nonCharacter = NONCHARACTERS.exec(path)?.[0];
  if (nonCharacter !== undefined) {
    return `a key must not contain the Unicode noncharacter ${codePointName(nonCharacter)} (U+FDD0–U+FDEF and U+xFFFE/U+xFFFF are refused)`;
  }
  for (const segment of path.split('/')) {
    if (segment === '') return 'a key must not contain empty segments ("//" or a trailing "/")';
    if (segment === '.' || segment === '..') return `a key must not contain a "${segment}" segment`;
    const segmentBytes = Buffer.byteLength(segment, 'utf8');
    if (segmentBytes > MAX_KEY_SEGMENT_BYTES) {
      return `each "/"-separated segment of a key must be at most ${MAX_KEY_SEGMENT_BYTES} UTF-8 bytes (one is ${segmentBytes})`;
    }
  }
  const bytes = Buffer.byteLength(path, 'utf8');
  if (bytes > maxBytes) return `a key must be at most ${maxBytes} UTF-8 bytes (this one is ${bytes})`;
  return undefined;
}

/**
 * Why `key` is not a valid object key, or `undefined` when it is. Keys are `/`-separated,
 * relative, without empty, `.` or `..` segments, control characters, backslashes, Unicode
 * noncharacters or ill-formed Unicode; each segment is at most 255 UTF-8 bytes, the whole at
 * most `maxBytes`; and the first segment is not the stores' own `.takhin`.
 */
export function describeInvalidKey(key: unknown, maxBytes = DEFAULT_MAX_KEY_BYTES): string | undefined {
  if (typeof key !== 'string') return 'a key must be a string';
  const reason = describeInvalidPath(key, maxBytes);
  if (reason !== undefined) return reason;
  if (key === RESERVED_KEY_SEGMENT || key.startsWith(`${RESERVED_KEY_SEGMENT}/`)) {
    return `keys under "${RESERVED_KEY_SEGMENT}/" are reserved for the store's own use`;
  }
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
  return describeInvalidPath(trimmed, DEFAULT_MAX_KEY_BYTES) === undefined ? trimmed : undefined;
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

/**
 * The longest key a caller may pass to a store whose server takes names of `maxNameBytes`
 * under `prefix`: the prefix and its `/` are deducted, so `maxKeyBytes` means the same on
 * every backend.
 */
export function maxKeyBytesUnder(prefix: string, maxNameBytes: number): number {
  return maxNameBytes - (prefix === '' ? 0 : Buffer.byteLength(prefix, 'utf8') + 1);
}
