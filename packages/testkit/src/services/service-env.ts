import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The repository root: the nearest folder up from `start` holding `pnpm-workspace.yaml`. */
export function findRepoRoot(start = process.cwd()): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no pnpm-workspace.yaml above ${start}`);
  }
}

/**
 * Endpoints and credentials of the servers `scripts/services start` runs, from
 * `.services/env`, with the process environment taking precedence.
 */
export function readServiceEnv(root = process.env.TAKHIN_ROOT ?? findRepoRoot()): Record<string, string> {
  const file = join(root, '.services', 'env');
  const values: Record<string, string> = {};
  if (existsSync(file)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
      if (match) values[match[1]!] = match[2]!;
    }
  }
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('TAKHIN_') && value !== undefined) values[key] = value;
  }
  return values;
}

/**
 * The named service variables, or an error saying which server is missing and how to start
 * it. A missing server fails the suite; it never skips it.
 */
export function requireServiceEnv<K extends string>(service: 'minio' | 'gcs' | 'azurite', keys: readonly K[]): Record<K, string> {
  const env = readServiceEnv();
  const missing = keys.filter((key) => !env[key]);
  if (missing.length > 0) {
    throw new Error(
      `the ${service} server is not running (missing ${missing.join(', ')} in .services/env): ` +
        `start it with "scripts/services start ${service}" or run the whole suite with "npm test"`,
    );
  }
  return Object.fromEntries(keys.map((key) => [key, env[key]!])) as Record<K, string>;
}
