import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** A file of the dashboard, held in memory. */
export interface DashboardAsset {
  readonly contentType: string;
  readonly body: Buffer;
}

/** The dashboard's files by URL path: a fixed list, so no request path ever reaches the filesystem. */
const FILES: Readonly<Record<string, { file: string; contentType: string }>> = {
  '/': { file: 'index.html', contentType: 'text/html; charset=utf-8' },
  '/dashboard/app.js': { file: 'app.js', contentType: 'text/javascript; charset=utf-8' },
  '/dashboard/api.js': { file: 'api.js', contentType: 'text/javascript; charset=utf-8' },
  '/dashboard/tier-chart.js': { file: 'tier-chart.js', contentType: 'text/javascript; charset=utf-8' },
  '/dashboard/segment-table.js': { file: 'segment-table.js', contentType: 'text/javascript; charset=utf-8' },
  '/dashboard/plan-list.js': { file: 'plan-list.js', contentType: 'text/javascript; charset=utf-8' },
  '/dashboard/format.js': { file: 'format.js', contentType: 'text/javascript; charset=utf-8' },
  '/dashboard/bytes.js': { file: 'bytes.js', contentType: 'text/javascript; charset=utf-8' },
  '/dashboard/style.css': { file: 'style.css', contentType: 'text/css; charset=utf-8' },
};

/**
 * The page may run only its own scripts and styles and talk only to this server: whatever a
 * segment path on disk contains, it cannot become code here.
 */
export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The package's `dashboard/` folder: plain files served as they are, no build step. */
const DASHBOARD_DIR = fileURLToPath(new URL('../../dashboard/', import.meta.url));

/** Loads every dashboard file once, at start-up. */
export async function loadDashboardAssets(dir = DASHBOARD_DIR): Promise<ReadonlyMap<string, DashboardAsset>> {
  const assets = new Map<string, DashboardAsset>();
  for (const [path, { file, contentType }] of Object.entries(FILES)) {
    assets.set(path, { contentType, body: await readFile(join(dir, file)) });
  }
  return assets;
}
