import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../errors/config-error.js';

/**
 * Turns a `BackendTarget.module` into a URL a worker can import. File URLs pass through. A
 * package name is resolved as the application sees it: in a strict (pnpm) layout `@takhin/core`
 * cannot see backend packages, so after core's own view the working directory and the main
 * script's folder are tried. Paths are taken relative to the working directory.
 */
export function resolveBackendModule(module: string): string {
  if (/^[a-z][a-z0-9+.-]+:/i.test(module)) return module;
  if (isAbsolute(module) || module.startsWith('.')) return pathToFileURL(resolve(module)).href;
  try {
    return import.meta.resolve(module);
  } catch {
    // not visible from core: try where the application lives
  }
  const parents = [join(process.cwd(), 'noop.js'), process.argv[1]].filter((p): p is string => p !== undefined);
  for (const parent of parents) {
    try {
      return pathToFileURL(createRequire(parent).resolve(module)).href;
    } catch {
      // try the next place
    }
  }
  throw new ConfigError(
    'backend module',
    `cannot resolve backend module "${module}" from @takhin/core, the working directory or the main script; ` +
      `pass the provider's own \`module\` (its file URL) instead`,
  );
}
