import http, { type IncomingMessage } from 'node:http';
import { listenOnLoopback } from './loopback-server.js';

/** What the stub answers one request with. */
export interface StubAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface StubHttpServer {
  url: string;
  /** Requests received so far, in order (method and path). */
  requests: Array<{ method: string; path: string }>;
  close(): Promise<void>;
}

/**
 * A loopback HTTP server answering every request as `answer` says: a real server speaking a
 * cloud's error dialect (S3's XML, GCS's JSON), so a backend's SDK and error mapping run for
 * real against statuses an emulator will not produce (throttling, outages, auth failures).
 */
export async function startStubHttpServer(answer: (request: IncomingMessage) => StubAnswer): Promise<StubHttpServer> {
  const requests: StubHttpServer['requests'] = [];
  const server = http.createServer((request, response) => {
    requests.push({ method: request.method ?? '', path: request.url ?? '' });
    request.resume();
    const { status, headers, body } = answer(request);
    response.writeHead(status, headers);
    response.end(request.method === 'HEAD' ? undefined : body);
  });
  server.keepAliveTimeout = 100;
  return { ...(await listenOnLoopback(server)), requests };
}

/** An S3 error answer: the XML body S3 and MinIO send. */
export function s3ErrorAnswer(status: number, code: string, message = `stub says ${code}`): StubAnswer {
  return {
    status,
    headers: { 'content-type': 'application/xml' },
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>stub</RequestId></Error>`,
  };
}
