import { parseSegmentPath, type TieredStorage, type SegmentRecord } from '@takhin/core';
import { decodePathPart } from './request-target.js';

/**
 * The segment a request names, checked before anything is done with it: the canonical form
 * only (relative, no `.` or `..`, not absolute, no NUL or `\`, `<topic>-<partition>/<20 digits>.log`:
 * `INVALID_SEGMENT_PATH`, 400), and known to the model (`UNKNOWN_SEGMENT`, 404). The path never
 * reaches the filesystem from here; the model maps known records to files itself.
 */
export function requireSegment(tiered: TieredStorage, input: unknown): SegmentRecord {
  return tiered.getSegment(parseSegmentPath(input).path);
}

/**
 * The segment path of `GET /api/v1/tiered/segments/{segment_path}`, given either URL-encoded as
 * one path segment (`orders-0%2F00000000000000000000.log`) or as two raw ones
 * (`orders-0/00000000000000000000.log`). Decoded exactly once, so `%252e%252e` stays `%2e%2e`.
 */
export function segmentPathOfUrl(rest: string): string {
  return decodePathPart(rest);
}
