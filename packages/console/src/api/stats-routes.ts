import type { Router } from '../http/router.js';
import { readQuery } from '../http/query-params.js';
import { sendJson } from '../http/respond.js';
import type { ConsoleContext } from './console-context.js';
import { statsDocument } from './wire-format.js';

/**
 * `GET /api/v1/tiered/stats`: the seed's counts (`total_segments`, `hot_segments`, …), local
 * and remote bytes, bytes per tier, what reconciliation repaired since start, whose the cold
 * store's prefix is (`cold_store`) and how the archiver's last cycle went (`archiver`).
 */
export function statsRoutes(router: Router, { tiered }: ConsoleContext): void {
  router.get('/api/v1/tiered/stats', ({ response, target }) => {
    readQuery(target.query, {});
    sendJson(response, 200, statsDocument(tiered));
  });
}
