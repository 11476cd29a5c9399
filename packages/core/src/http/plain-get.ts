import type { SignedRead } from '../driver/cold-store-driver.js';
import { Connection, PlainHttpError, StaleConnection, type PlainResponse } from './plain-connection.js';

// A small HTTP/1.1 client for one thing: a signed GET whose body goes straight into memory the
// caller lends. node:http hands a body out as a fresh 64 KiB Buffer per socket read; over a GiB
// that is 16 384 allocations whose external memory drives V8 into about 30 full garbage
// collections, and its parser and streams run per chunk. Here the socket reads (`onread`) land
// in the caller's buffers, so a download allocates nothing per read. See docs/ARCHITECTURE.md,
// "Plain reads".

export { PlainHttpError, type PlainResponse };

export interface PlainHttpOptions {
  /** Connecting fails after this long. */
  connectTimeoutMs?: number;
  /** A request fails when its socket is silent this long. */
  idleTimeoutMs?: number;
}

/** Keep-alive connections kept per origin once idle. */
const IDLE_PER_ORIGIN = 8;

/**
 * Sends signed GETs over keep-alive connections of its own. Plain `http:` only: a TLS socket
 * cannot read into a caller's memory, so an `https:` read goes through the backend's client.
 */
export class PlainHttpClient {
  readonly #idle = new Map<string, Connection[]>();
  readonly #connectTimeoutMs: number;
  readonly #idleTimeoutMs: number;
  #closed = false;

  constructor(options: PlainHttpOptions = {}) {
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
    this.#idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
  }

  /** Whether `url` is one this client can send. */
  static accepts(url: string): boolean {
    return url.startsWith('http://');
  }

  /**
   * Sends `read` and resolves with the answer's head. A kept-alive connection that the server
   * closed in the meantime is replaced once, transparently (a GET is safe to send again).
   */
  async get(read: SignedRead, signal?: AbortSignal): Promise<PlainResponse> {
    if (this.#closed) throw new PlainHttpError('the client is closed', 'ECLOSED');
    signal?.throwIfAborted();
    const url = new URL(read.url);
    if (url.protocol !== 'http:') throw new PlainHttpError(`only http: URLs are sent, not ${url.protocol}`, 'EPROTO');
    const request = requestHead(url, read.headers);
    const reused = this.#takeIdle(url.host);
    if (reused) {
      try {
        return await reused.send(request, signal);
      } catch (error) {
        // Nothing of an answer arrived: the server had closed the idle connection.
        if (!(error instanceof StaleConnection)) throw error;
      }
    }
    const connection = await Connection.open(url, this.#connectTimeoutMs, this.#idleTimeoutMs, (idle) => this.#release(url.host, idle), signal);
    return connection.send(request, signal);
  }

  /** Closes every idle connection; requests in flight finish on theirs, which then close. */
  close(): void {
    this.#closed = true;
    for (const connections of this.#idle.values()) for (const connection of connections) connection.destroy();
    this.#idle.clear();
  }

  #takeIdle(origin: string): Connection | undefined {
    const connections = this.#idle.get(origin);
    while (connections?.length) {
      const connection = connections.pop()!;
      if (connection.usable) return connection;
    }
    return undefined;
  }

  #release(origin: string, connection: Connection): void {
    const connections = this.#idle.get(origin) ?? [];
    if (this.#closed || connections.length >= IDLE_PER_ORIGIN) return connection.destroy();
    connections.push(connection);
    this.#idle.set(origin, connections);
  }
}

function requestHead(url: URL, headers: Record<string, string>): string {
  let head = `GET ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || /[\r\n\0]/.test(value)) throw new PlainHttpError(`header ${JSON.stringify(name)} cannot be sent`, 'EPROTO');
    if (name.toLowerCase() !== 'host') head += `${name}: ${value}\r\n`;
  }
  return `${head}\r\n`;
}

