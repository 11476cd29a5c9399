import { invalidQuery } from './api-error.js';

/** Turns one query value into its typed form, or throws `invalidQuery` saying what was expected. */
export type QueryParser<T> = (value: string, name: string) => T;

/**
 * Reads the query against a table of parsers: an unknown parameter or one given twice is a 400
 * (a typo such as `polcy=cold` must not quietly list everything); an empty value counts as absent.
 */
export function readQuery<P extends Record<string, QueryParser<unknown>>>(
  query: URLSearchParams,
  parsers: P,
): { [K in keyof P]: ReturnType<P[K]> | undefined } {
  const result: Record<string, unknown> = {};
  const seen = new Set<string>();
  for (const [name, value] of query) {
    if (!Object.hasOwn(parsers, name)) {
      const known = Object.keys(parsers);
      throw invalidQuery(`unknown query parameter ${JSON.stringify(name)}; this endpoint takes ${known.length ? known.join(', ') : 'none'}`);
    }
    if (seen.has(name)) throw invalidQuery(`query parameter "${name}" is given more than once`);
    seen.add(name);
    if (value !== '') result[name] = parsers[name]!(value, name);
  }
  return result as { [K in keyof P]: ReturnType<P[K]> | undefined };
}

export const booleanParam: QueryParser<boolean> = (value, name) => {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw invalidQuery(`"${name}" must be true or false, got ${JSON.stringify(value.slice(0, 40))}`);
};

export function integerParam(min: number, max: number): QueryParser<number> {
  return (value, name) => {
    const number = /^\d{1,10}$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(number) || number < min || number > max) {
      throw invalidQuery(`"${name}" must be a whole number from ${min} to ${max}, got ${JSON.stringify(value.slice(0, 40))}`);
    }
    return number;
  };
}

export function oneOfParam<T extends string>(choices: readonly T[]): QueryParser<T> {
  return (value, name) => {
    if ((choices as readonly string[]).includes(value)) return value as T;
    throw invalidQuery(`"${name}" must be one of ${choices.join(', ')}, got ${JSON.stringify(value.slice(0, 40))}`);
  };
}

/** Kafka's legal topic names: 1 to 249 of `[a-zA-Z0-9._-]`. */
export const topicParam: QueryParser<string> = (value, name) => {
  if (/^[a-zA-Z0-9._-]{1,249}$/.test(value)) return value;
  throw invalidQuery(`"${name}" must be a Kafka topic name (1 to 249 of a-z A-Z 0-9 . _ -), got ${JSON.stringify(value.slice(0, 40))}`);
};

export const stringParam: QueryParser<string> = (value) => value;
