import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxyOptions {
  /**
   * Which new connections (numbered from 1) to reset once the client has sent its first bytes,
   * before any reach the server: a flaky network or load balancer under load. None by default.
   */
  resetConnection?: (ordinal: number) => boolean;
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
  /** Connections reset by `resetConnection` so far. */
  resets = 0;

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
      client.pipe(upstream).pipe(client);
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
