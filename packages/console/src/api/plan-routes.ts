import type { PlanAction } from '@takhin/core';
import type { Router } from '../http/router.js';
import { booleanParam, integerParam, readQuery } from '../http/query-params.js';
import { sendJson } from '../http/respond.js';
import type { ConsoleContext } from './console-context.js';
import { planItemJson } from './wire-format.js';

const DEFAULT_ITEMS = 1000;
const MAX_ITEMS = 10_000;

/**
 * `GET /api/v1/tiered/plan?changes_only=&limit=`: what the next cycle would do to each segment
 * (by default only the segments it would change), with the deciding rule and its reason, and
 * counts by action over the whole plan. Changes nothing.
 */
export function planRoutes(router: Router, { tiered }: ConsoleContext): void {
  router.get('/api/v1/tiered/plan', ({ response, target }) => {
    const query = readQuery(target.query, { changes_only: booleanParam, limit: integerParam(1, MAX_ITEMS) });
    const items = tiered.plan({ changesOnly: query.changes_only ?? true });
    const counts: Record<PlanAction, number> = { none: 0, retier: 0, archive: 0, evict: 0 };
    for (const item of items) counts[item.action]++;
    const limit = query.limit ?? DEFAULT_ITEMS;
    sendJson(response, 200, { total: items.length, counts, truncated: items.length > limit, items: items.slice(0, limit).map(planItemJson) });
  });
}
