import type { ServerResponse } from 'node:http';
import type { ApiError } from './api-error.js';
import { hasBody } from './json-body.js';

/** Headers on every answer: nothing is cached, sniffed, framed or told where the request came from. */
const COMMON_HEADERS = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
} as const;

export function sendJson(response: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  send(response, status, 'application/json; charset=utf-8', `${JSON.stringify(body)}\n`, headers);
}

export function sendError(response: ServerResponse, error: ApiError): void {
  sendJson(response, error.status, error.toJSON(), error.headers);
}

export function send(response: ServerResponse, status: number, contentType: string, body: string | Buffer, headers: Readonly<Record<string, string>> = {}): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  // A body refused before it was read (too large, wrong type) is not read to its end either: the
  // connection closes rather than parse its bytes as a next request. A request without a body
  // keeps it open (its `complete` is still false while the answer is written in the same tick).
  const close: Record<string, string> = hasBody(response.req) && !response.req.complete ? { Connection: 'close' } : {};
  response.writeHead(status, { ...COMMON_HEADERS, ...headers, ...close, 'Content-Type': contentType, 'Content-Length': String(bytes.length) });
  response.end(response.req.method === 'HEAD' ? undefined : bytes);
}
