import { BENCH_BACKENDS, type BenchBackendName } from './bench-backend.js';

/** A command-line value the bench cannot run with; `main` prints its message and the usage, and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** `raw` as an integer from 1 to `max`, or a `UsageError` naming `flag` and what it was given. */
export function positiveInteger(flag: string, raw: string, max: number): number {
  const value = /^\d+$/.test(raw.trim()) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < 1 || value > max) throw new UsageError(`${flag} must be an integer from 1 to ${max}, got ${JSON.stringify(raw)}`);
  return value;
}

/** A backend name (`--backend`), or a `UsageError` naming it and the choices. */
export function backendName(flag: string, raw: string): BenchBackendName {
  if (!(BENCH_BACKENDS as readonly string[]).includes(raw)) throw new UsageError(`${flag}: unknown backend ${JSON.stringify(raw)} (choose from ${BENCH_BACKENDS.join(', ')})`);
  return raw as BenchBackendName;
}

/** `--backends`: a comma-separated list of backend names, each once. */
export function parseBackends(raw: string): BenchBackendName[] {
  const names = raw.split(',').map((name) => backendName('--backends', name.trim()));
  requireEachOnce('--backends', names, raw);
  return names;
}

/** `--shapes`: a comma-separated list of `COUNTxMIB`, each shape once. */
export function parseShapes(raw: string): Array<readonly [number, number]> {
  const shapes = raw.split(',').map((text) => {
    const shape = text.trim();
    const match = /^(\d+)x(\d+)$/i.exec(shape);
    if (!match) throw new UsageError(`--shapes: ${JSON.stringify(shape)} is not COUNTxMIB (e.g. 64x16) in ${JSON.stringify(raw)}`);
    return [positiveInteger(`--shapes ${shape}: COUNT`, match[1]!, 1024), positiveInteger(`--shapes ${shape}: MIB`, match[2]!, 16384)] as const;
  });
  requireEachOnce('--shapes', shapes.map(([count, mib]) => `${count}x${mib}`), raw);
  return shapes;
}

/** A `UsageError` when `flag`'s list (`raw`) names an item twice: it would be measured twice. */
function requireEachOnce(flag: string, items: readonly string[], raw: string): void {
  const repeated = items.find((item, i) => items.indexOf(item) !== i);
  if (repeated) throw new UsageError(`${flag} names ${repeated} twice in ${JSON.stringify(raw)}`);
}
