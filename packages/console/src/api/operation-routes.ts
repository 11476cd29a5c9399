import { checkBody } from '../http/body-schema.js';
import { readJsonBody } from '../http/json-body.js';
import { readQuery } from '../http/query-params.js';
import { sendJson } from '../http/respond.js';
import type { RouteContext, Router } from '../http/router.js';
import { requireSegment } from '../http/segment-path-param.js';
import type { ConsoleContext } from './console-context.js';
import { cycleJson, segmentJson } from './wire-format.js';

/** The seed's request body: `{"segment_path": "orders-0/00000000000000000000.log"}`, nothing else. */
const SEGMENT_BODY = { segment_path: { type: 'string', required: true, maxLength: 1024 } } as const;

/**
 * `POST /api/v1/tiered/archive`, `/restore`, `/evict` with `{"segment_path": …}`, and
 * `POST /api/v1/tiered/cycle` (no body, or `{}`). Every check (type, size, schema, path, known
 * segment) runs before the model is touched, so a refused request changes nothing. An
 * operation runs to its end even if the client goes away: stopping half-way would only roll it back.
 */
export function operationRoutes(router: Router, context: ConsoleContext): void {
  const { tiered } = context;
  const segmentOf = async ({ request, target }: RouteContext) => {
    readQuery(target.query, {});
    const body = checkBody(await readJsonBody(request), SEGMENT_BODY);
    return requireSegment(tiered, body.segment_path).path;
  };

  router.post('/api/v1/tiered/archive', async (route) => {
    const path = await segmentOf(route);
    const result = await tiered.archiveSegment(path);
    sendJson(route.response, 200, {
      status: 'success',
      message: result.outcome === 'archived' ? 'segment archived successfully' : 'segment was already archived',
      outcome: result.outcome,
      uploaded_bytes: result.uploadedBytes,
      reused_files: result.reusedFiles,
      local_files_kept: result.localFilesKept ?? null,
      duration_ms: Math.round(result.durationMs),
      segment: segmentJson(result.segment),
    });
  });

  router.post('/api/v1/tiered/restore', async (route) => {
    const path = await segmentOf(route);
    const result = await tiered.restoreSegment(path);
    sendJson(route.response, 200, {
      status: 'success',
      message: result.outcome === 'restored' ? 'segment restored successfully' : 'segment was already on local disk',
      outcome: result.outcome,
      downloaded_bytes: result.downloadedBytes,
      duration_ms: Math.round(result.durationMs),
      segment: segmentJson(result.segment),
    });
  });

  router.post('/api/v1/tiered/evict', async (route) => {
    const path = await segmentOf(route);
    const result = await tiered.evictSegment(path);
    sendJson(route.response, 200, {
      status: 'success',
      message: result.outcome === 'evicted' ? 'segment evicted: local files deleted, its archived copy stays' : 'segment was already evicted',
      outcome: result.outcome,
      segment: segmentJson(result.segment),
    });
  });

  router.post('/api/v1/tiered/cycle', async ({ request, response, target }) => {
    readQuery(target.query, {});
    checkBody(await readJsonBody(request), {});
    const report = await tiered.runCycle();
    sendJson(response, 200, cycleJson(report));
  });
}
