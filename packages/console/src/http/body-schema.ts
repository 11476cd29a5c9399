import { invalidBody } from './api-error.js';

/** A field of a request body: its type, and whether it may be left out. */
export interface FieldRule {
  readonly type: 'string' | 'boolean';
  readonly required: boolean;
  /** Longest accepted string. */
  readonly maxLength?: number;
}

export type BodySchema = Readonly<Record<string, FieldRule>>;

type FieldType<R extends FieldRule> = R['type'] extends 'string' ? string : boolean;
export type BodyOf<S extends BodySchema> = { -readonly [K in keyof S]: S[K]['required'] extends true ? FieldType<S[K]> : FieldType<S[K]> | undefined };

/**
 * Checks a parsed body against `schema`: a JSON object with exactly these fields. An unknown
 * field is refused rather than ignored: a typo (`segmentPath`) must not pass as a request
 * with the field missing or, worse, as a different request.
 */
export function checkBody<S extends BodySchema>(body: unknown, schema: S): BodyOf<S> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidBody(`the body must be a JSON object, got ${describe(body)}`);
  const extra = Object.keys(body).filter((key) => !Object.hasOwn(schema, key));
  if (extra.length > 0) {
    throw invalidBody(`unknown field${extra.length > 1 ? 's' : ''} ${extra.map((key) => JSON.stringify(key)).join(', ')}; this endpoint takes ${fieldList(schema)}`);
  }
  const result: Record<string, unknown> = {};
  for (const [name, rule] of Object.entries(schema)) {
    const value = (body as Record<string, unknown>)[name];
    if (value === undefined) {
      if (rule.required) throw invalidBody(`"${name}" is required; this endpoint takes ${fieldList(schema)}`);
      continue;
    }
    if (typeof value !== rule.type) throw invalidBody(`"${name}" must be a ${rule.type}, got ${describe(value)}`);
    if (rule.maxLength !== undefined && typeof value === 'string' && value.length > rule.maxLength) {
      throw invalidBody(`"${name}" is longer than ${rule.maxLength} characters`);
    }
    result[name] = value;
  }
  return result as BodyOf<S>;
}

function fieldList(schema: BodySchema): string {
  const fields = Object.entries(schema).map(([name, rule]) => `"${name}" (${rule.type}${rule.required ? '' : ', optional'})`);
  return fields.length === 0 ? 'no fields (send {} or no body)' : fields.join(', ');
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)?.slice(0, 40)}`;
}
