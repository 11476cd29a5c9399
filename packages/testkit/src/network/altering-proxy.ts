import http, { type IncomingHttpHeaders } from 'node:http';
import { listenOnLoopback } from './loopback-server.js';

/** A request on its way through the proxy; the hook may change its path and headers. */
export interface AlterableRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
}

/** A hook's own answer, sent instead of forwarding (or instead of the server's answer). */
export interface ProxyAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface AlteringProxyHooks {
  /** Changes the request in place, or answers it without asking the server. */
  request?(request: AlterableRequest): ProxyAnswer | void;
  /** Replaces the server's answer (its body unread), or returns nothing to pass it on. */
  response?(request: AlterableRequest, status: number, headers: IncomingHttpHeaders): ProxyAnswer | void;
}

export interface AlteringProxy {
  url: string;
  /** Requests seen, after the request hook changed them. */
  requests: AlterableRequest[];
  close(): Promise<void>;
}

/**
 * A loopback HTTP proxy in front of a real server whose hooks make it behave like an
 * imperfect one (ignoring a header, answering a status it should not): for servers whose
 * requests are not signed (an emulator) or where the proxy answers itself. Bodies stream
 * through untouched.
 */
export async function startAlteringProxy(target: string, hooks: AlteringProxyHooks): Promise<AlteringProxy> {
  const upstream = new URL(target);
  const requests: AlterableRequest[] = [];
  const server = http.createServer((incoming, outgoing) => {
    const request: AlterableRequest = { method: incoming.method ?? 'GET', path: incoming.url ?? '/', headers: { ...incoming.headers } };
    const own = hooks.request?.(request);
    requests.push(request);
    const answer = ({ status, headers, body }: ProxyAnswer) => {
      incoming.resume();
      outgoing.writeHead(status, { 'content-length': String(Buffer.byteLength(body ?? '')), ...headers });
      outgoing.end(body);
    };
    if (own) return answer(own);
    const forwarded = http.request({ host: upstream.hostname, port: upstream.port, method: request.method, path: request.path, headers: request.headers }, (reply) => {
      const replaced = hooks.response?.(request, reply.statusCode ?? 502, reply.headers);
      if (replaced) {
        reply.resume();
        return answer(replaced);
      }
      outgoing.writeHead(reply.statusCode ?? 502, reply.headers);
      reply.pipe(outgoing);
    });
    forwarded.on('error', () => outgoing.destroy());
    incoming.pipe(forwarded);
  });
  return { ...(await listenOnLoopback(server)), requests };
}
