/** How much of a value an error echoes: enough to recognise it, never a whole file. */
const MAX_ECHOED = 60;

/**
 * `value` quoted for an error message, cut after `max` characters (60) with an ellipsis: loading
 * `/etc/passwd` as the config makes the whole file one string, which must not end up in a log.
 */
export function quoteValue(value: string, max = MAX_ECHOED): string {
  if (value.length <= max) return JSON.stringify(value);
  // Never half a surrogate pair.
  const cut = value.slice(0, /[\uD800-\uDBFF]/.test(value[max - 1]!) ? max - 1 : max);
  return `${JSON.stringify(cut).slice(0, -1)}…"`;
}
