import http from 'node:http';
import { listenOnLoopback } from './loopback-server.js';

export interface SilentServer {
  url: string;
  /** Requests received so far (method and path): each was left unanswered, or stalled mid-body. */
  requests: Array<{ method: string; path: string }>;
  close(): Promise<void>;
}

/**
 * A loopback HTTP server that takes every request and then goes quiet: with `stall: 'answer'`
 * it never answers; with `stall: 'body'` it answers a GET with 200 and a `Content-Length` of
 * `bodyBytes`, sends half of them and stops (other methods get no answer). For proving that a
 * store gives up on a silent server within its timeout, UNAVAILABLE, instead of waiting for ever.
 */
export async function startSilentServer(options: { stall?: 'answer' | 'body'; bodyBytes?: number } = {}): Promise<SilentServer> {
  const { stall = 'answer', bodyBytes = 1000 } = options;
  const requests: SilentServer['requests'] = [];
  const server = http.createServer((request, response) => {
    requests.push({ method: request.method ?? '', path: request.url ?? '' });
    request.resume();
    if (stall === 'body' && request.method === 'GET') {
      response.writeHead(200, { 'content-length': String(bodyBytes), 'content-type': 'application/octet-stream', etag: '"stalled"', 'last-modified': new Date().toUTCString() });
      response.write(Buffer.alloc(Math.floor(bodyBytes / 2), 1));
    }
  });
  return { ...(await listenOnLoopback(server)), requests };
}
