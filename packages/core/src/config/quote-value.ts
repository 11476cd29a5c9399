/** How much of a value an error echoes: enough to recognise it, never a whole file. */
const MAX_ECHOED = 60;

/**
 * `value` quoted for an error message, cut after 60 characters with an ellipsis: loading
 * `/etc/passwd` as the config makes the whole file one string, which must not end up in a log.
 */
export function quoteValue(value: string): string {
  if (value.length <= MAX_ECHOED) return JSON.stringify(value);
  // Never half a surrogate pair.
  const cut = value.slice(0, /[\uD800-\uDBFF]/.test(value[MAX_ECHOED - 1]!) ? MAX_ECHOED - 1 : MAX_ECHOED);
  return `${JSON.stringify(cut).slice(0, -1)}…"`;
}
