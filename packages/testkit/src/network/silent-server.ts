import http from 'node:http';
import { expect } from 'vitest';
import type { ColdStore } from '@takhin/core';
import { patternedBytes, readAll } from '../bodies/patterned-body.js';
import { expectCode } from '../contract/assertions.js';
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

/**
 * Every operation of `store` (which talks to `server`, with a short idle timeout and few
 * attempts) fails UNAVAILABLE, each after its attempts timed out: get, head, list, delete of
 * one and of many keys, a small put and a multipart one. None waits for ever.
 */
export async function expectEveryOperationGivesUp(store: ColdStore & { partSize: number }, server: SilentServer, budgetMs: number): Promise<void> {
  const size = store.partSize * 3 + 1;
  const operations = [
    () => store.get('k').then(readAll),
    () => store.head('k'),
    async () => {
      for await (const _ of store.list('')) void _;
    },
    () => store.delete('k'),
    () => store.delete(['k', 'l']),
    () => store.put('k', Buffer.from('small')),
    () => store.put('k', patternedBytes(size, 1), { size }),
  ];
  const started = performance.now();
  for (const operation of operations) await expectCode(operation(), 'UNAVAILABLE');
  expect(performance.now() - started, 'each failed once its attempts timed out, not later').toBeLessThan(budgetMs);
  expect(server.requests.length).toBeGreaterThanOrEqual(operations.length);
}
