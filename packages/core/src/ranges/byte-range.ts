import type { ByteRange } from '../contracts/cold-store.js';
import { invalidRange } from '../errors/factories.js';

/** A range resolved against an object's size: bytes `start` to `end` inclusive, `length` of them. */
export interface ResolvedRange {
  start: number;
  end: number;
  length: number;
}

/** Throws `INVALID_RANGE` for negative, fractional or zero-length ranges, before any request. */
export function assertRangeShape(backend: string, key: string, range: ByteRange): void {
  const { offset, length } = range;
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw invalidRange(backend, key, `offset must be a non-negative integer, got ${String(offset)}`);
  }
  if (length !== undefined && (!Number.isSafeInteger(length) || length <= 0)) {
    throw invalidRange(backend, key, `length must be a positive integer, got ${String(length)}`);
  }
}

/**
 * Resolves a range against the object's size. A range starting past the end is `INVALID_RANGE`
 * (an empty object has no valid range at all); one running past the end is truncated.
 */
export function resolveRange(backend: string, key: string, range: ByteRange, size: number): ResolvedRange {
  assertRangeShape(backend, key, range);
  if (range.offset >= size) {
    throw invalidRange(backend, key, `offset ${range.offset} is at or past the end of a ${size}-byte object`);
  }
  const end = Math.min(size, range.length === undefined ? size : range.offset + range.length) - 1;
  return { start: range.offset, end, length: end - range.offset + 1 };
}

/** The HTTP `Range` header value for a range (`bytes=10-19`, or `bytes=10-` to the end). */
export function httpRangeHeader(range: ByteRange): string {
  return range.length === undefined ? `bytes=${range.offset}-` : `bytes=${range.offset}-${range.offset + range.length - 1}`;
}

/** A `Content-Range` header: the bytes `start`–`end` (inclusive) of an object of `size`. */
export interface ContentRange {
  start: number;
  end: number;
  /** The whole object's size; `undefined` when the server sent `*`. */
  size: number | undefined;
}

// Parses "bytes 10-19/100" (or with "*" for an unknown size). The answer to an unsatisfiable
// range ("bytes" then "*/100") and anything malformed give `undefined`.
export function parseContentRange(header: string | undefined): ContentRange | undefined {
  const match = /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i.exec(header ?? '');
  if (!match) return undefined;
  const [start, end] = [Number(match[1]), Number(match[2])];
  const size = match[3] === '*' ? undefined : Number(match[3]);
  if (end < start || (size !== undefined && end >= size)) return undefined;
  return { start, end, size };
}
