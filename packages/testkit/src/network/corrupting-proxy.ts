import http from 'node:http';
import { listenOnLoopback } from './loopback-server.js';

/**
 * A loopback proxy to `target` that flips one byte in the middle of every request body
 * larger than `minBytes`: damage in transit, to prove the server (or the store) catches it.
 * The Host header is passed through, so servers that echo URLs (session URIs) echo ours.
 */
export async function startCorruptingProxy(target: string, minBytes = 64 * 1024): Promise<{ url: string; corrupted: () => number; close: () => Promise<void> }> {
  const upstream = new URL(target);
  let corrupted = 0;
  const server = http.createServer(async (request, response) => {
    const pieces: Buffer[] = [];
    for await (const piece of request) pieces.push(piece as Buffer);
    const body = Buffer.concat(pieces);
    if (body.length > minBytes) {
      body[body.length >> 1]! ^= 0xff;
      corrupted++;
    }
    const forwarded = http.request(
      { host: upstream.hostname, port: upstream.port, method: request.method, path: request.url, headers: request.headers },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    forwarded.on('error', () => response.destroy());
    forwarded.end(body);
  });
  return { ...(await listenOnLoopback(server)), corrupted: () => corrupted };
}
