import { quoteValue } from '../config/quote-value.js';
import { TieringError } from '../errors/tiering-error.js';

/** Characters of a string argument shown in a message before it is cut. */
const SHOWN_CHARACTERS = 40;

/**
 * An argument as a message shows it: numbers as themselves, anything else with its type, so
 * the string `'5'` or the bigint `10n` never reads like the number it is not.
 */
export function describeArgument(value: unknown): string {
  switch (typeof value) {
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value);
    case 'string':
      return `the string ${quoteValue(value, SHOWN_CHARACTERS)}`;
    case 'bigint':
      return `the bigint ${value}n`;
    case 'boolean':
      return `the boolean ${value}`;
    case 'symbol':
      return `the symbol ${String(value)}`;
    case 'undefined':
      return 'undefined';
    case 'function':
      return 'a function';
    default:
      return value === null ? 'null' : Array.isArray(value) ? 'an array' : 'an object';
  }
}

/**
 * An offset a read or lookup takes: a whole number ≥ 0 that a JavaScript number holds exactly.
 * Anything else is `INVALID_ARGUMENT`, as a bad `maxBytes` is; `OFFSET_OUT_OF_RANGE` is for a
 * well-formed offset the log does not hold.
 */
export function requireOffset(offset: unknown): asserts offset is number {
  if (Number.isSafeInteger(offset) && (offset as number) >= 0) return;
  const expected = Number.isInteger(offset) && (offset as number) > 0 ? 'a whole number ≥ 0 up to 2^53 - 1, the largest a number holds exactly' : 'a whole number ≥ 0';
  throw new TieringError('INVALID_ARGUMENT', `not an offset: got ${describeArgument(offset)} (expected ${expected})`);
}

/**
 * The most bytes one read returns, whatever its `maxBytes` asks (but always its first batch
 * whole): a read's bytes are held in memory, and `Number.MAX_SAFE_INTEGER` must not mean the
 * rest of a 1 GiB segment at once. A Kafka broker caps a fetch the same way (`fetch.max.bytes`);
 * the next read continues at `nextOffset`.
 */
export const MAX_READ_BYTES = 64 * 1024 * 1024;

/** A read's `maxBytes`: a whole number > 0; anything else is `INVALID_ARGUMENT`. */
export function requireMaxBytes(maxBytes: unknown): asserts maxBytes is number {
  if (Number.isSafeInteger(maxBytes) && (maxBytes as number) > 0) return;
  throw new TieringError('INVALID_ARGUMENT', `maxBytes must be a positive whole number, got ${describeArgument(maxBytes)}`);
}

/**
 * A read's `into`, when given: a `Uint8Array` (a `Buffer` is one) of at least one byte; anything
 * else, a detached buffer included, is `INVALID_ARGUMENT`.
 */
export function requireInto(into: unknown): asserts into is Uint8Array | undefined {
  if (into === undefined || (into instanceof Uint8Array && into.byteLength > 0)) return;
  const got = into instanceof Uint8Array ? 'an empty Uint8Array' : ArrayBuffer.isView(into) ? `a ${into.constructor.name}` : describeArgument(into);
  throw new TieringError('INVALID_ARGUMENT', `into must be a Uint8Array (a Buffer is one) of at least one byte, got ${got}`);
}
