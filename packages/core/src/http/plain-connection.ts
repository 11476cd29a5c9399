import net from 'node:net';
import type { BodySink } from '../contracts/cold-store.js';

// One keep-alive connection of core's plain-GET client (plain-get.ts): the socket, the answer's
// head, and a body read straight into a sink. See docs/ARCHITECTURE.md, "Plain reads".

/** A failure of the connection itself (refused, reset, timed out, cut short, unparsable). */
export class PlainHttpError extends Error {
  override readonly name = 'PlainHttpError';
  constructor(
    message: string,
    /** The system error's code (`ECONNREFUSED`, …) or `ETIMEDOUT`, `EPROTO`, `ECUTSHORT`. */
    readonly code: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The head of an answer; its body is read with `readBody` or dropped with `discard`. */
export interface PlainResponse {
  readonly status: number;
  /** Header names in lower case; repeated headers joined with `, `. */
  readonly headers: ReadonlyMap<string, string>;
  /** The body's length; `undefined` when the server sent none (chunked), which `readBody` refuses. */
  readonly contentLength: number | undefined;
  /** Reads the whole body into `sink`; the connection is then reused. */
  readBody(sink: BodySink, signal?: AbortSignal): Promise<void>;
  /** Drops the answer unread and closes its connection. */
  discard(): void;
}

/** Largest response head (status line and headers) accepted; also where bytes land while reading is paused. */
const HEAD_BYTES = 64 * 1024;
const HEADER_END = Buffer.from('\r\n\r\n');

/** A reused connection failed before any byte of the answer: the request may go out again. */
export class StaleConnection extends Error {}

type Phase = 'idle' | 'head' | 'held' | 'body' | 'done';

/**
 * One keep-alive socket. Its reads land where `#landing` says: the head buffer while an answer's
 * head arrives (or while the body is paused), the sink's space while the body flows. The socket
 * never holds a view of a sink's memory while it is not reading into it, so a sink's buffer is
 * never written after the read that filled it.
 */
export class Connection {
  readonly #socket: net.Socket;
  readonly #head = Buffer.allocUnsafe(HEAD_BYTES);
  readonly #release: (connection: Connection) => void;
  #phase: Phase = 'idle';
  #headUsed = 0;
  /** Body bytes that arrived with the head (or after a pause) and wait, in `#head`, for the sink. */
  #pendingFrom = 0;
  #pendingTo = 0;
  #left = 0;
  #keepAlive = true;
  #sink: BodySink | undefined;
  #sinkView: Uint8Array | undefined;
  #paused = false;
  #received = 0;
  #onHead: { resolve: (response: PlainResponse) => void; reject: (error: Error) => void } | undefined;
  #onBody: { resolve: () => void; reject: (error: Error) => void } | undefined;
  #failure: Error | undefined;
  #detachSignal: (() => void) | undefined;

  private constructor(url: URL, release: (connection: Connection) => void) {
    this.#release = release;
    this.#socket = net.connect({
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(url.port || 80),
      noDelay: true,
      onread: { buffer: () => this.landing(), callback: (bytes, buffer) => this.onRead(bytes, buffer) },
    });
  }

  static open(url: URL, connectTimeoutMs: number, idleTimeoutMs: number, release: (connection: Connection) => void, signal?: AbortSignal): Promise<Connection> {
    const connection = new Connection(url, release);
    const socket = connection.#socket;
    socket.on('error', (error) => connection.fail(systemError(error, 'the connection failed')));
    socket.on('timeout', () => socket.destroy(new PlainHttpError(`no byte from ${url.host} in ${idleTimeoutMs} ms`, 'ETIMEDOUT')));
    socket.on('end', () => connection.fail(new PlainHttpError('the server closed the connection', 'ECUTSHORT')));
    socket.on('close', () => connection.fail(new PlainHttpError('the connection closed', 'ECUTSHORT')));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => socket.destroy(new PlainHttpError(`no connection to ${url.host} within ${connectTimeoutMs} ms`, 'ETIMEDOUT')), connectTimeoutMs);
      const onAbort = () => socket.destroy(signal!.reason as Error);
      signal?.addEventListener('abort', onAbort, { once: true });
      const settle = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      socket.once('connect', () => {
        settle();
        socket.setTimeout(idleTimeoutMs);
        resolve(connection);
      });
      socket.once('error', (error) => {
        settle();
        reject(error instanceof PlainHttpError || signal?.aborted ? error : systemError(error, `cannot connect to ${url.host}`));
      });
    });
  }

  get usable(): boolean {
    return this.#phase === 'idle' && this.#failure === undefined && !this.#socket.destroyed;
  }

  destroy(): void {
    this.#socket.destroy();
  }

  send(request: string, signal?: AbortSignal): Promise<PlainResponse> {
    const reused = this.#received > 0;
    this.#phase = 'head';
    this.#headUsed = 0;
    this.#socket.ref();
    return new Promise<PlainResponse>((resolve, reject) => {
      this.#onHead = {
        resolve,
        reject: (error) => reject(reused && this.#headUsed === 0 && !signal?.aborted ? new StaleConnection() : error),
      };
      this.#watch(signal);
      this.#socket.write(request);
    });
  }

  /** The socket's next landing place (called by net after every read). */
  landing(): Uint8Array {
    if (this.#phase === 'body' && !this.#paused && this.#left > 0) {
      const space = this.#space();
      if (space) {
        this.#sinkView = space.byteLength > this.#left ? space.subarray(0, this.#left) : space;
        return this.#sinkView;
      }
    }
    this.#sinkView = undefined;
    return this.#phase === 'head' ? this.#head.subarray(this.#headUsed) : this.#head;
  }

  /** One read of `bytes` into `buffer` (the last landing place). Returning false pauses the socket. */
  onRead(bytes: number, buffer: Uint8Array): boolean {
    this.#received += bytes;
    switch (this.#phase) {
      case 'head':
        this.#headUsed += bytes;
        return this.#parseHead();
      case 'body':
        if (buffer === this.#sinkView) {
          this.#sinkView = undefined;
          this.#left -= bytes;
          return this.#fill(bytes);
        }
        // A read that landed in the head buffer (the first one after a pause): hand it over.
        if (bytes > this.#left) {
          this.fail(new PlainHttpError('the answer carries more bytes than its Content-Length', 'EPROTO'));
          return false;
        }
        this.#left -= bytes;
        this.#pendingFrom = 0;
        this.#pendingTo = bytes;
        return this.#drain();
      default:
        // Bytes nobody asked for (beyond a body, or on an idle connection): the stream is not HTTP any more.
        this.fail(new PlainHttpError(`${bytes} unexpected bytes from the server`, 'EPROTO'));
        return false;
    }
  }

  /** Ends whatever is in flight with `error` and closes the socket. */
  fail(error: Error): void {
    if (this.#failure !== undefined) return;
    this.#failure = error;
    this.#phase = 'done';
    this.#detachSignal?.();
    this.#socket.destroy();
    const head = this.#onHead;
    const body = this.#onBody;
    this.#onHead = undefined;
    this.#onBody = undefined;
    head?.reject(error);
    body?.reject(error);
  }

  #parseHead(): boolean {
    const end = this.#head.subarray(0, this.#headUsed).indexOf(HEADER_END);
    if (end < 0) {
      if (this.#headUsed === HEAD_BYTES) this.fail(new PlainHttpError(`the answer's head is larger than ${HEAD_BYTES} bytes`, 'EPROTO'));
      return true;
    }
    const lines = this.#head.toString('latin1', 0, end).split('\r\n');
    const status = /^HTTP\/1\.([01]) (\d{3})/.exec(lines[0]!);
    if (!status) {
      this.fail(new PlainHttpError(`not an HTTP/1.x answer: ${JSON.stringify(lines[0]!.slice(0, 80))}`, 'EPROTO'));
      return false;
    }
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
    }
    const lengthHeader = headers.get('content-length');
    const chunked = headers.has('transfer-encoding');
    const contentLength = !chunked && lengthHeader !== undefined && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : undefined;
    this.#keepAlive = status[1] === '1' && !/\bclose\b/i.test(headers.get('connection') ?? '') && contentLength !== undefined;
    this.#pendingFrom = end + HEADER_END.byteLength;
    this.#pendingTo = this.#headUsed;
    this.#left = contentLength ?? 0;
    this.#phase = 'held';
    const onHead = this.#onHead!;
    this.#onHead = undefined;
    this.#detachSignal?.();
    onHead.resolve({
      status: Number(status[2]),
      headers,
      contentLength,
      readBody: (sink, signal) => this.#readBody(sink, contentLength, signal),
      discard: () => this.fail(new PlainHttpError('the answer was discarded', 'EDISCARDED')),
    });
    // Nothing more is read until the body is asked for.
    this.#paused = true;
    return false;
  }

  #readBody(sink: BodySink, contentLength: number | undefined, signal?: AbortSignal): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#phase !== 'held') return Promise.reject(new Error('the body was already read'));
    if (contentLength === undefined) {
      this.fail(new PlainHttpError('the answer has no Content-Length', 'EPROTO'));
      return Promise.reject(this.#failure);
    }
    if (this.#pendingTo - this.#pendingFrom > contentLength) {
      this.fail(new PlainHttpError('the answer carries more bytes than its Content-Length', 'EPROTO'));
      return Promise.reject(this.#failure);
    }
    this.#sink = sink;
    this.#phase = 'body';
    return new Promise<void>((resolve, reject) => {
      this.#onBody = { resolve, reject };
      this.#watch(signal);
      this.#left -= this.#pendingTo - this.#pendingFrom;
      this.#resumeAfter(this.#drain());
    });
  }

  /** Copies the bytes waiting in the head buffer into the sink; false when the sink asked for a pause. */
  #drain(): boolean {
    while (this.#pendingFrom < this.#pendingTo) {
      const space = this.#space();
      if (!space) return false;
      const bytes = Math.min(space.byteLength, this.#pendingTo - this.#pendingFrom);
      this.#head.copy(space, 0, this.#pendingFrom, this.#pendingFrom + bytes);
      this.#pendingFrom += bytes;
      if (!this.#fill(bytes, true)) return false;
    }
    return this.#finishIfDone();
  }

  /** The sink's space; a sink that throws (or lends nothing) ends the read. */
  #space(): Uint8Array | undefined {
    try {
      const space = this.#sink!.space();
      if (space.byteLength > 0) return space;
      throw new Error('the sink lent no space');
    } catch (error) {
      this.fail(error instanceof Error ? error : new Error(String(error)));
      return undefined;
    }
  }

  /** Tells the sink `bytes` landed: go on (true), or pause until its promise settles (false); a throw ends the read. */
  #fill(bytes: number, draining = false): boolean {
    let result: void | Promise<void>;
    try {
      result = this.#sink!.filled(bytes);
    } catch (error) {
      this.fail(error instanceof Error ? error : new Error(String(error)));
      return false;
    }
    if (result === undefined) return draining ? true : this.#finishIfDone();
    this.#paused = true;
    result.then(
      () => {
        if (this.#phase === 'body') this.#resumeAfter(this.#drain());
      },
      (error: Error) => this.fail(error),
    );
    return false;
  }

  /** Completes the body once every byte is in; true while more should be read. */
  #finishIfDone(): boolean {
    if (this.#phase !== 'body' || this.#left > 0 || this.#pendingFrom < this.#pendingTo) return true;
    this.#phase = 'idle';
    this.#sink = undefined;
    this.#detachSignal?.();
    const onBody = this.#onBody!;
    this.#onBody = undefined;
    if (this.#keepAlive) {
      // Reading again (the last byte may have come with a pause): an idle socket must see the server close it.
      this.#paused = false;
      this.#socket.resume();
      this.#socket.unref();
      this.#release(this);
    } else {
      this.#socket.destroy();
    }
    onBody.resolve();
    return true;
  }

  #resumeAfter(goOn: boolean): void {
    if (!goOn || this.#phase !== 'body') return;
    this.#paused = false;
    this.#socket.resume();
  }

  #watch(signal: AbortSignal | undefined): void {
    this.#detachSignal?.();
    this.#detachSignal = undefined;
    if (!signal) return;
    const onAbort = () => this.fail(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
    if (signal.aborted) return void queueMicrotask(onAbort);
    signal.addEventListener('abort', onAbort, { once: true });
    this.#detachSignal = () => signal.removeEventListener('abort', onAbort);
  }
}

function systemError(error: Error, what: string): PlainHttpError {
  const code = (error as NodeJS.ErrnoException).code ?? 'ECONNRESET';
  return new PlainHttpError(`${what}: ${error.message}`, code, { cause: error });
}
