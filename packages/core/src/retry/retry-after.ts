/**
 * How long the server asked a client to wait before it tries again: the `Retry-After` header
 * (whole seconds, or an HTTP date) of the failed answer, read from wherever the usual clients
 * keep that answer's headers along an error's cause chain (the AWS SDK's `$response.headers`,
 * the Azure SDK's and gaxios' `response.headers`, and `headers` on an error a driver made
 * itself). `undefined` when the server did not say. See docs/ARCHITECTURE.md, "Errors".
 */
export function retryAfterMs(error: unknown, now: number = Date.now()): number | undefined {
  for (let e: unknown = error, depth = 0; e !== null && typeof e === 'object' && depth < 8; depth++) {
    const holder = e as { $response?: { headers?: unknown }; response?: { headers?: unknown }; headers?: unknown; cause?: unknown };
    for (const headers of [holder.$response?.headers, holder.response?.headers, holder.headers]) {
      const value = headerValue(headers, 'retry-after');
      if (value !== undefined) return parseRetryAfter(value, now);
    }
    e = holder.cause;
  }
  return undefined;
}

/** `Retry-After` as milliseconds from `now`: whole seconds, or an HTTP date (0 when it has passed). */
export function parseRetryAfter(value: string, now: number = Date.now()): number | undefined {
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function headerValue(headers: unknown, name: string): string | undefined {
  if (headers === null || typeof headers !== 'object') return undefined;
  const get = (headers as { get?: unknown }).get;
  const value = typeof get === 'function' ? (get as (name: string) => unknown).call(headers, name) : (headers as Record<string, unknown>)[name];
  const first = Array.isArray(value) ? value[0] : value;
  return typeof first === 'string' ? first : typeof first === 'number' ? String(first) : undefined;
}
