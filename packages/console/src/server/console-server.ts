import { STATUS_CODES, createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { TieredStorage } from '@takhin/core';
import type { ConsoleContext } from '../api/console-context.js';
import { healthRoutes } from '../api/health-routes.js';
import { operationRoutes } from '../api/operation-routes.js';
import { planRoutes } from '../api/plan-routes.js';
import { segmentRoutes } from '../api/segment-routes.js';
import { statsRoutes } from '../api/stats-routes.js';
import { busy, methodNotAllowed, notReady } from '../http/api-error.js';
import { BearerAuth } from '../http/bearer-auth.js';
import { clientErrorOf } from '../http/client-error.js';
import { DASHBOARD_CSP, loadDashboardAssets, type DashboardAsset } from '../http/dashboard-assets.js';
import { toApiError } from '../http/error-mapping.js';
import { checkLoopbackHost, requireHostHeader } from '../http/loopback-host.js';
import { parseRequestTarget } from '../http/request-target.js';
import { send, sendError } from '../http/respond.js';
import { Router } from '../http/router.js';
import { ConsoleMetrics } from '../metrics/console-metrics.js';
import { checkConsoleToken } from './console-token.js';
import { requireBoundLoopback, requireTokenBeyondLoopback, urlOf, type ListenAddress } from './listen-address.js';

export interface ConsoleServerOptions {
  /**
   * `console.token`: required by every endpoint but `/healthz`, the dashboard's files too (see
   * `BearerAuth`); visible ASCII without spaces, or the constructor throws (see `checkConsoleToken`).
   */
  readonly token: string | undefined;
  /** Where unexpected errors are written (default: stderr). */
  readonly log?: (message: string, error?: unknown) => void;
}

/**
 * Connections one console serves at once. A request on one beyond them is answered 503 `BUSY`
 * and its connection closed: Node's own `maxConnections` resets a connection over it unanswered.
 */
export const MAX_CONNECTIONS = 256;
/** Beyond this many open connections (a flood, not clients) Node drops new ones unanswered. */
const MAX_OPEN_CONNECTIONS = 4 * MAX_CONNECTIONS;
/** Time a client has to send its headers and its whole request. */
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;
const MAX_HEADER_BYTES = 16 * 1024;

/**
 * The console's HTTP server: REST API, `/metrics`, `/healthz` and the dashboard, in one process.
 * It binds first and serves once a `TieredStorage` is attached (until then every request but
 * `/healthz` is 503), so `serve` can write the address it really got into the data dir's lock.
 */
export class ConsoleServer {
  readonly #server: Server;
  readonly #auth: BearerAuth;
  readonly #log: (message: string, error?: unknown) => void;
  /** Connections accepted beyond `MAX_CONNECTIONS`: their requests are answered `BUSY`. */
  readonly #overLimit = new WeakSet<Socket>();
  #connections = 0;
  #loopbackOnly = true;
  #assets: ReadonlyMap<string, DashboardAsset> = new Map();
  #router: Router | undefined;
  #context: ConsoleContext | undefined;
  #url: string | undefined;

  constructor(private readonly options: ConsoleServerOptions) {
    checkConsoleToken(options.token);
    this.#auth = new BearerAuth(options.token);
    this.#log = options.log ?? ((message, error) => console.error(`[takhin-tiered] ${message}`, error ?? ''));
    // `requireHostHeader: false`: a missing Host gets the console's own JSON 400 (`requireHostHeader`), not Node's empty one.
    const serverOptions = { headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, maxHeaderSize: MAX_HEADER_BYTES, requireHostHeader: false };
    this.#server = createServer(serverOptions, (request, response) => {
      void this.#handle(request, response);
    });
    this.#server.maxConnections = MAX_OPEN_CONNECTIONS;
    this.#server.on('connection', (socket: Socket) => {
      if (++this.#connections > MAX_CONNECTIONS) this.#overLimit.add(socket);
      socket.once('close', () => this.#connections--);
    });
    this.#server.on('clientError', (error, socket) => {
      if (!socket.writable) return;
      const refusal = clientErrorOf(error, { maxHeaderBytes: MAX_HEADER_BYTES, headersTimeoutMs: HEADERS_TIMEOUT_MS, requestTimeoutMs: REQUEST_TIMEOUT_MS });
      const body = JSON.stringify(refusal.toJSON());
      socket.end(`HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    });
  }

  /** The URL clients on this machine reach it at, once listening. */
  get url(): string {
    if (this.#url === undefined) throw new Error('the console is not listening');
    return this.#url;
  }

  get metrics(): ConsoleMetrics {
    if (!this.#context) throw new Error('no tiered storage is attached to the console');
    return this.#context.metrics;
  }

  /** Binds `address`; refuses an address beyond loopback without a token. Resolves to the URL. */
  async listen(address: ListenAddress): Promise<string> {
    requireTokenBeyondLoopback(address, this.options.token);
    this.#loopbackOnly = address.loopback;
    this.#assets = await loadDashboardAssets();
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(address.port, address.host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    const bound = this.#server.address() as AddressInfo;
    try {
      requireBoundLoopback(address, bound.address, this.options.token);
    } catch (error) {
      await new Promise((resolve) => this.#server.close(resolve));
      throw error;
    }
    this.#url = urlOf(address.host, bound.port);
    return this.#url;
  }

  /** Starts answering for `tiered`. */
  attach(tiered: TieredStorage): void {
    const context: ConsoleContext = { tiered, metrics: new ConsoleMetrics(tiered), log: this.#log };
    const router = new Router();
    for (const routes of [healthRoutes, statsRoutes, segmentRoutes, planRoutes, operationRoutes]) routes(router, context);
    this.#context = context;
    this.#router = router;
  }

  /** Stops accepting, lets requests in flight finish for up to `graceMs`, then cuts the rest. */
  async close(graceMs = 5_000): Promise<void> {
    this.#context?.metrics.close();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
    const timer = setTimeout(() => this.#server.closeAllConnections(), graceMs).unref();
    await closed;
    clearTimeout(timer);
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    try {
      if (this.#overLimit.has(request.socket)) throw busy(MAX_CONNECTIONS);
      const target = parseRequestTarget(request.url);
      requireHostHeader(request, this.#loopbackOnly);
      if (this.#loopbackOnly) checkLoopbackHost(request);
      const method = request.method ?? 'GET';
      const asset = this.#assets.get(target.rawPath);
      if (asset) {
        // A browser cannot send a bearer token when it loads a page: the challenge is Basic, so it
        // asks the operator, and sends the token with every request after (the API's too).
        this.#auth.check(request, 'Basic');
        // A dashboard file is a GET route like the API's: another method is 405, not "no endpoint".
        if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed(method, target.rawPath, ['GET', 'HEAD']);
        send(response, 200, asset.contentType, asset.body, { 'Content-Security-Policy': DASHBOARD_CSP });
        return;
      }
      if (target.rawPath !== '/healthz') this.#auth.check(request);
      if (!this.#router) throw notReady();
      const { handler, rest } = this.#router.resolve(method, target.rawPath);
      await handler({ request, response, target, rest });
    } catch (error) {
      const apiError = toApiError(error, (unexpected) => this.#log(`${request.method} ${request.url?.slice(0, 300)} failed`, unexpected));
      sendError(response, apiError);
    }
  }
}
