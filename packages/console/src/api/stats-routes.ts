import type { Router } from '../http/router.js';
import { readQuery } from '../http/query-params.js';
import { sendJson } from '../http/respond.js';
import type { ConsoleContext } from './console-context.js';
import { reconciliationJson, statsJson } from './wire-format.js';

/**
 * `GET /api/v1/tiered/stats`: the seed's counts (`total_segments`, `hot_segments`, …), local
 * and remote bytes, bytes per tier, and what reconciliation repaired since start.
 */
export function statsRoutes(router: Router, { tiered }: ConsoleContext): void {
  router.get('/api/v1/tiered/stats', ({ response, target }) => {
    readQuery(target.query, {});
    sendJson(response, 200, { ...statsJson(tiered.getStats()), reconciliation: reconciliationJson(tiered.lastReconciliation) });
  });
}
