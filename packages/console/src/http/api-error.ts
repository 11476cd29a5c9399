/**
 * A rejected or failed request, as the API answers it: an HTTP status and the JSON body
 * `{ "error": <stable code>, "message": <what was wrong> }`. Every refusal the console makes
 * itself is built by one of the factories below, so the same failure always reads the same.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Extra response headers (`WWW-Authenticate`, `Allow`). */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }

  toJSON(): { error: string; message: string } {
    return { error: this.code, message: this.message };
  }
}

export const unauthorized = (why: string, challenge: 'Bearer' | 'Basic' = 'Bearer') =>
  new ApiError(401, 'UNAUTHORIZED', why, { 'WWW-Authenticate': `${challenge} realm="takhin-tiered"${challenge === 'Basic' ? ', charset="UTF-8"' : ''}` });

export const routeNotFound = (method: string, path: string) => new ApiError(404, 'NOT_FOUND', `no endpoint ${method} ${path}`);

export const methodNotAllowed = (method: string, path: string, allowed: readonly string[]) =>
  new ApiError(405, 'METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}; use ${allowed.join(' or ')}`, { Allow: allowed.join(', ') });

export const missingHost = () =>
  new ApiError(400, 'MISSING_HOST', 'the request has no Host header; send the address it is for (e.g. "Host: 127.0.0.1:8080"), as HTTP/1.1 requires');

export const invalidHost = (host: string) =>
  new ApiError(421, 'MISDIRECTED_REQUEST', `this console listens on loopback only and does not answer for host ${JSON.stringify(host)}`);

export const unsupportedMediaType = (got: string | undefined) =>
  new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', `the body must be application/json, got ${got === undefined ? 'no Content-Type' : JSON.stringify(got)}`);

export const payloadTooLarge = (limit: number) => new ApiError(413, 'PAYLOAD_TOO_LARGE', `the body is larger than ${limit} bytes`);

export const invalidJson = (why: string) => new ApiError(400, 'INVALID_JSON', `the body is not valid JSON: ${why}`);

export const invalidBody = (why: string) => new ApiError(400, 'INVALID_BODY', why);

export const invalidQuery = (why: string) => new ApiError(400, 'INVALID_QUERY', why);

export const invalidCursor = (why: string) => new ApiError(400, 'INVALID_CURSOR', why);

export const invalidUrl = (why: string) => new ApiError(400, 'INVALID_URL', why);

export const malformedRequest = (why: string) => new ApiError(400, 'MALFORMED_REQUEST', why);

export const headersTooLarge = (limit: number) => new ApiError(431, 'HEADERS_TOO_LARGE', `the request's headers are larger than ${limit} bytes`);

export const requestTimeout = (headersMs: number, requestMs: number) =>
  new ApiError(408, 'REQUEST_TIMEOUT', `the request did not arrive in time: its headers within ${headersMs / 1000} s, the whole request within ${requestMs / 1000} s`);

/** The client went away before its body was whole; nobody reads this answer, but it is not a failure of ours. */
export const requestAborted = () => new ApiError(400, 'MALFORMED_REQUEST', 'the connection ended before the whole request (its body) arrived');

export const busy = (connections: number) =>
  new ApiError(503, 'BUSY', `the console is serving ${connections} connections already; retry in a moment, or reuse a connection`, { 'Retry-After': '1', Connection: 'close' });

export const notReady = () => new ApiError(503, 'STARTING', 'the console is still opening the data dir; try again in a moment');

export const internalError = () => new ApiError(500, 'INTERNAL', 'the console failed to handle this request; its log has the details');
