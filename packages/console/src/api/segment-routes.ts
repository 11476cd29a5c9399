import { TieringError, parseSegmentPath, type Tier, type TieredStorage } from '@takhin/core';
import { invalidCursor } from '../http/api-error.js';
import type { Router } from '../http/router.js';
import { booleanParam, integerParam, oneOfParam, readQuery, stringParam, topicParam } from '../http/query-params.js';
import { sendJson } from '../http/respond.js';
import { requireSegment, segmentPathOfUrl } from '../http/segment-path-param.js';
import type { ConsoleContext } from './console-context.js';
import { segmentJson } from './wire-format.js';

const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;
const TIER_NAMES: readonly Tier[] = ['hot', 'warm', 'cold'];

/**
 * `GET /api/v1/tiered/segments?topic=&partition=&policy=&archived=&cursor=&limit=`: a page of
 * segments in (topic, partition, base offset) order and the cursor of the next page, `null`
 * on the last. `GET /api/v1/tiered/segments/{segment_path}`: one segment's whole record.
 */
export function segmentRoutes(router: Router, { tiered }: ConsoleContext): void {
  router.get('/api/v1/tiered/segments', ({ response, target }) => {
    const query = readQuery(target.query, {
      topic: topicParam,
      partition: integerParam(0, 2 ** 31 - 1),
      policy: oneOfParam(TIER_NAMES),
      archived: booleanParam,
      cursor: stringParam,
      limit: integerParam(1, MAX_PAGE),
    });
    const limit = query.limit ?? DEFAULT_PAGE;
    const after = query.cursor === undefined ? undefined : checkCursor(query.cursor);
    // One more than the page: whether it exists says if there is a next page.
    const found = tiered.listSegments({ topic: query.topic, partition: query.partition, policy: query.policy, archived: query.archived, after, limit: limit + 1 });
    const page = found.slice(0, limit);
    const nextCursor = found.length > limit ? page.at(-1)!.path : null;
    sendJson(response, 200, { segments: page.map((segment) => withRefusal(segmentJson(segment), tiered)), next_cursor: nextCursor });
  });

  router.getPrefix('/api/v1/tiered/segments/', ({ response, target, rest }) => {
    readQuery(target.query, {});
    sendJson(response, 200, withRefusal(segmentJson(requireSegment(tiered, segmentPathOfUrl(rest))), tiered));
  });
}

/**
 * A cursor is the last segment path of the previous page: a position, so it still works when
 * that segment was deleted (by retention) since.
 */
function checkCursor(cursor: string): string {
  try {
    return parseSegmentPath(cursor).path;
  } catch (error) {
    if (!(error instanceof TieringError)) throw error;
    throw invalidCursor(`invalid cursor ${JSON.stringify(cursor.slice(0, 300))}: it is not a cursor this API returned`);
  }
}

/** `archive_refusal`: why archiving this segment would be refused (null when it would not), so a client can say so up front. */
function withRefusal<T extends { segment_path: string }>(json: T, tiered: TieredStorage): T & { archive_refusal: string | null } {
  return { ...json, archive_refusal: tiered.archiveRefusal(json.segment_path) ?? null };
}
