import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxyOptions {
  /**
   * Which new connections (numbered from 1) to reset once the client has sent its first bytes,
   * before any reach the server: a flaky network or load balancer under load. None by default.
   */
  resetConnection?: (ordinal: number) => boolean;
  /**
   * Resets a connection mid-request once its client has sent this many bytes through it (the
   * server has seen the start of the request, and never its end): a network failing in the
   * middle of an upload. Only the first `times` connections to get that far (default 1).
   */
  resetAfterBytes?: { bytes: number; times?: number };
}

/**
 * A loopback TCP proxy that can be cut and restored on the same port: from the client's side
 * the server vanishes (connections reset, new ones refused) while the server keeps its state.
 * With `resetConnection`, it also resets chosen connections mid-request.
 */
export class TcpProxy {
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();
  #connections = 0;
  port = 0;
  /** Connections reset by `resetConnection` or `resetAfterBytes` so far. */
  resets = 0;
  /** Connections reset by `resetAfterBytes` so far. */
  midRequestResets = 0;

  constructor(
    readonly targetPort: number,
    readonly options: TcpProxyOptions = {},
  ) {}

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async open(): Promise<void> {
    this.#server = createServer((client) => {
      this.#track(client);
      if (this.options.resetConnection?.(++this.#connections)) {
        // The request has begun; the server never sees it.
        client.once('data', () => {
          this.resets++;
          client.resetAndDestroy();
        });
        return;
      }
      const upstream = connect(this.targetPort, '127.0.0.1');
      this.#track(upstream);
      const cutAfter = this.options.resetAfterBytes;
      if (cutAfter === undefined) {
        client.pipe(upstream).pipe(client);
        return;
      }
      upstream.pipe(client);
      let sent = 0;
      client.on('data', (chunk: Buffer) => {
        sent += chunk.byteLength;
        if (sent >= cutAfter.bytes && this.midRequestResets < (cutAfter.times ?? 1)) {
          this.midRequestResets++;
          this.resets++;
          client.resetAndDestroy();
          upstream.resetAndDestroy();
          return;
        }
        // Backpressure as pipe() has it: the client waits while the server is slow to read.
        if (!upstream.write(chunk)) {
          client.pause();
          upstream.once('drain', () => client.resume());
        }
      });
      client.on('end', () => upstream.end());
      client.on('close', () => upstream.destroy());
    });
    this.#server.listen(this.port, '127.0.0.1');
    await once(this.#server, 'listening');
    this.port = (this.#server.address() as { port: number }).port;
  }

  /** Refuses new connections and resets the open ones. */
  async cut(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    for (const socket of this.#sockets) socket.resetAndDestroy();
    server.close();
    await once(server, 'close');
  }

  #track(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => {});
  }
}
