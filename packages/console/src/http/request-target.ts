import { invalidUrl } from './api-error.js';

/** The request line's target, split but NOT normalised: `..` stays visible to the checks. */
export interface RequestTarget {
  /** The path exactly as sent, percent-encoding included. */
  readonly rawPath: string;
  readonly query: URLSearchParams;
}

/** Longest request target accepted: a segment path is under 300 bytes, a query a few more. */
const MAX_TARGET_LENGTH = 4096;

/**
 * Splits `request.url` by hand. `new URL()` would resolve `a/../b` to `b` before any check saw
 * it, turning a traversal attempt into a different, valid-looking request.
 */
export function parseRequestTarget(url: string | undefined): RequestTarget {
  if (url === undefined || url.length === 0 || !url.startsWith('/')) throw invalidUrl('the request target must be a path starting with "/"');
  if (url.length > MAX_TARGET_LENGTH) throw invalidUrl(`the request target is longer than ${MAX_TARGET_LENGTH} characters`);
  const queryAt = url.indexOf('?');
  const rawPath = queryAt < 0 ? url : url.slice(0, queryAt);
  const rawQuery = queryAt < 0 ? '' : url.slice(queryAt + 1);
  const hashAt = rawQuery.indexOf('#');
  return { rawPath, query: new URLSearchParams(hashAt < 0 ? rawQuery : rawQuery.slice(0, hashAt)) };
}

/** Decodes percent-encoding once; malformed encoding is refused, never guessed at. */
export function decodePathPart(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw invalidUrl(`malformed percent-encoding in ${JSON.stringify(raw)}`);
  }
}
