import type { Router } from '../http/router.js';
import { sendJson, send } from '../http/respond.js';
import type { ConsoleContext } from './console-context.js';

/**
 * `GET /healthz` (open to anyone, so it says nothing but whether the console is up) and
 * `GET /metrics` (Prometheus text format; behind the token like everything else).
 */
export function healthRoutes(router: Router, { metrics }: ConsoleContext): void {
  router.get('/healthz', ({ response }) => sendJson(response, 200, { status: 'ok' }));
  router.get('/metrics', async ({ response }) => {
    const { contentType, body } = await metrics.render();
    send(response, 200, contentType, body);
  });
}
