import { ConfigError } from '../errors/config-error.js';
import { isMap } from './config-tree.js';
import { quoteValue } from './quote-value.js';

/** One config key's rule. Numbers and booleans also accept their string forms (env overrides). */
export type FieldSpec =
  | {
      type: 'string';
      required?: boolean;
      default?: string;
      oneOf?: readonly string[];
      nonEmpty?: boolean;
      /** An `http:` or `https:` URL with a host (`true`), and no path beyond `/` (`'origin'`). */
      httpUrl?: boolean | 'origin';
    }
  | { type: 'number'; required?: boolean; default?: number; min?: number; max?: number; integer?: boolean }
  | { type: 'boolean'; required?: boolean; default?: boolean };

export type ConfigSchema = Record<string, FieldSpec>;

type ValueOf<F extends FieldSpec> = F extends { type: 'string' } ? string : F extends { type: 'number' } ? number : boolean;
type IsPresent<F extends FieldSpec> = F extends { required: true } ? true : F extends { default: unknown } ? true : false;

/** The typed result of a schema: required or defaulted keys are present, the rest optional. */
export type ConfigOf<S extends ConfigSchema> = {
  [K in keyof S as IsPresent<S[K]> extends true ? K : never]: ValueOf<S[K]>;
} & {
  [K in keyof S as IsPresent<S[K]> extends true ? never : K]?: ValueOf<S[K]>;
};

/**
 * Validates a plain object against a schema and returns the typed config. Every failure is a
 * `ConfigError` whose path names the key (`storage.tiered.s3.partSizeMb`); unknown keys are
 * errors too, with the nearest known key suggested, so a typo never silently does nothing.
 */
export function parseConfigObject<S extends ConfigSchema>(path: string, raw: unknown, schema: S): ConfigOf<S> {
  const input = raw ?? {};
  if (typeof input !== 'object' || Array.isArray(input)) throw new ConfigError(path, 'expected an object of settings');
  const known = Object.keys(schema);
  for (const key of Object.keys(input)) {
    if (!Object.hasOwn(schema, key)) {
      const hint = nearestKey(key, known);
      throw new ConfigError(`${path}.${key}`, `unknown key${hint ? ` (did you mean "${hint}"?)` : ''}; known keys: ${known.join(', ')}`);
    }
  }
  const result: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(schema)) {
    const value = (input as Record<string, unknown>)[key];
    const keyPath = `${path}.${key}`;
    if (value === undefined || value === null) {
      if (spec.default !== undefined) result[key] = spec.default;
      else if (spec.required) throw new ConfigError(keyPath, 'is required');
      continue;
    }
    result[key] = parseField(keyPath, value, spec);
  }
  return result as ConfigOf<S>;
}

function parseField(path: string, value: unknown, spec: FieldSpec): string | number | boolean {
  switch (spec.type) {
    case 'string': {
      if (typeof value !== 'string') throw new ConfigError(path, `expected a string, got ${describe(value)}`);
      if (spec.nonEmpty && value.trim() === '') throw new ConfigError(path, 'must not be empty');
      if (spec.oneOf && !spec.oneOf.includes(value)) {
        throw new ConfigError(path, `must be one of ${spec.oneOf.map((v) => JSON.stringify(v)).join(', ')}, got ${quoteValue(value)}`);
      }
      if (spec.httpUrl) assertHttpUrl(path, value, spec.httpUrl === 'origin');
      return value;
    }
    case 'number': {
      const number = typeof value === 'string' ? parseDecimal(path, value) : value;
      if (typeof number !== 'number') throw new ConfigError(path, `expected a number, got ${describe(value)}`);
      if (!Number.isFinite(number)) throw new ConfigError(path, `expected a finite number, got ${String(number)}`);
      if (spec.integer && !Number.isInteger(number)) throw new ConfigError(path, `expected a whole number, got ${number}`);
      if (spec.min !== undefined && number < spec.min) throw new ConfigError(path, `must be at least ${spec.min}, got ${number}`);
      if (spec.max !== undefined && number > spec.max) throw new ConfigError(path, `must be at most ${spec.max}, got ${number}`);
      return number;
    }
    case 'boolean': {
      if (typeof value === 'boolean') return value;
      if (value === 'true' || value === 'false') return value === 'true';
      throw new ConfigError(path, `expected true or false, got ${describe(value)}`);
    }
  }
}

/**
 * A number's string form (an environment override): plain decimal only, so `"0x10"` is not
 * taken as 16 nor `"1e3"` as 1000, which `Number()` would do.
 */
function parseDecimal(path: string, text: string): number {
  if (!/^\s*[+-]?(\d+(\.\d*)?|\.\d+)\s*$/.test(text)) throw new ConfigError(path, `expected a decimal number, got ${quoteValue(text)}`);
  return Number(text);
}

/**
 * Throws unless `value` is an http(s) URL with a host. `URL` alone would take
 * `localhost://39000` (scheme "localhost:") or `127.0.0.1:9000` (scheme "127.0.0.1:"),
 * which then fail only at the first request, far from the config that caused them.
 */
function assertHttpUrl(path: string, value: string, originOnly: boolean): void {
  const url = URL.parse(value);
  const expected = originOnly ? 'an http:// or https:// URL without a path' : 'an http:// or https:// URL';
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    throw new ConfigError(path, `expected ${expected} (e.g. "http://127.0.0.1:9000"), got ${quoteValue(value)}`);
  }
  if (originOnly && url.pathname !== '/' && url.pathname !== '') throw new ConfigError(path, `expected ${expected}, got ${quoteValue(value)}`);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return quoteValue(value);
  if (Array.isArray(value)) return 'an array';
  // A YAML !!set, !!omap, !!binary or !!timestamp: say which.
  if (typeof value === 'object' && value !== null && !isMap(value)) return `a ${value.constructor.name}`;
  return typeof value;
}

/** The known key within edit distance 2 of `key`, if any. */
export function nearestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
