// Why the byte paths bypass @google-cloud/storage 8.4.0 (paths under build/esm/src/):
// - Resumable uploads: File#startResumableUpload_ (file.js) builds the resumable-upload.js
//   Upload config without `crc32c`/`clientCrc32c`, so Upload#startUploading sends no
//   X-Goog-Hash and nothing checks the CRC32C before the object exists. Upload's own hasher is
//   `new HashStreamValidator(...)` without the crc32cGenerator (the pure-JS CRC32C), and
//   clientCrc32c must be known before the first byte. crc32cGenerator only feeds
//   File#createWriteStream's check after the upload. That check runs once the object is visible
//   and deletes it with no ifGenerationMatch.
//   Upload never ends a session (it sends no DELETE), and the SDK's API takes no AbortSignal.
// - Simple uploads and downloads: File#startSimpleUpload_ and File#createReadStream go through
//   nodejs-common/util.js makeRequest to teeny-request 11.1.1, whose requestToFetchOptions passes
//   no signal to node-fetch. retry-request's abort() is a no-op on teeny's stream. Destroying the
//   SDK stream leaves the request in flight: a simple upload whose body was sent still lands.
// Metadata calls (head, list, delete, the bucket's existence) are our own requests too: the SDK's
// (teeny-request over node-fetch) never time out on a server that accepts the connection and
// stays silent, whatever its `timeout` option says, and take no AbortSignal. Auth uses the SDK.
import http, { type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import { json, text } from 'node:stream/consumers';

/**
 * An HTTP status the GCS JSON API answered with, shaped like the SDK's `ApiError` (`code` is
 * the status) so one mapper handles both.
 */
export class GcsHttpError extends Error {
  override readonly name = 'GcsHttpError';
  constructor(
    readonly code: number,
    message: string,
    /** The answer's headers (core's retry reads `Retry-After` from them). */
    readonly headers: IncomingHttpHeaders = {},
  ) {
    super(message);
  }
}

/** A request fails when its connection carries no byte for this long (as the S3 and MinIO clients do). */
export const GCS_IDLE_TIMEOUT_MS = 30_000;

/** The armed timeout of each request whose `timeout` listener is installed (once: `setTimeout(ms, cb)` adds one per call). */
const silenceMs = new WeakMap<http.ClientRequest, number>();

/**
 * Destroys `outgoing` with an `ETIMEDOUT` error (UNAVAILABLE, retried) once its socket has been
 * silent for `ms`: a server that accepts a connection and never answers, or stops mid-body,
 * would otherwise hold the request for ever. `ms` 0 disarms it.
 */
function failWhenSilent(outgoing: http.ClientRequest, ms: number): void {
  if (!silenceMs.has(outgoing)) {
    outgoing.on('timeout', () => outgoing.destroy(Object.assign(new Error(`no byte from the server in ${silenceMs.get(outgoing)} ms`), { code: 'ETIMEDOUT' })));
  }
  silenceMs.set(outgoing, ms);
  outgoing.setTimeout(ms);
}

/** Supplies the `Authorization` header; `undefined` for anonymous access (an emulator). */
export type GcsAuthorizer = (() => Promise<Headers | Record<string, string>>) | undefined;

export interface GcsRequest {
  method?: string;
  headers?: Record<string, string>;
  /** Written as is, piece by piece: node:http sends a Buffer without copying it (fetch would copy it). */
  body?: Buffer | string | readonly Buffer[];
  signal?: AbortSignal | undefined;
}

/**
 * The few JSON API calls this backend makes itself: the byte paths (see the top of this file),
 * each abortable, carrying our native CRC32C, and failing before a download stream is handed
 * out. Never retries. Owns its keep-alive agents, so `close()` releases the sockets.
 */
export class GcsHttp {
  readonly #agents = { 'http:': new http.Agent({ keepAlive: true }), 'https:': new https.Agent({ keepAlive: true }) };

  constructor(
    /** `https://storage.googleapis.com` or the emulator's endpoint, without a trailing `/`. */
    readonly baseUrl: string,
    private readonly authorize: GcsAuthorizer,
    /** How long a request's connection may stay silent while an answer or its body is awaited. */
    private readonly idleTimeoutMs: number = GCS_IDLE_TIMEOUT_MS,
  ) {}

  /** `/storage/v1/b/<bucket>/o/<name>` under the base URL, the name fully encoded. */
  objectUrl(bucket: string, name: string, query: Record<string, string | undefined> = {}): string {
    return this.#url(`/storage/v1/b/${encodeURIComponent(bucket)}/o/${encodeURIComponent(name)}`, query);
  }

  /** `/storage/v1/b/<bucket>` under the base URL. */
  bucketUrl(bucket: string): string {
    return this.#url(`/storage/v1/b/${encodeURIComponent(bucket)}`, {});
  }

  /** `/storage/v1/b/<bucket>/o` under the base URL: a listing. */
  listUrl(bucket: string, query: Record<string, string | undefined>): string {
    return this.#url(`/storage/v1/b/${encodeURIComponent(bucket)}/o`, query);
  }

  /** `/upload/storage/v1/b/<bucket>/o` under the base URL. */
  uploadUrl(bucket: string, query: Record<string, string | undefined>): string {
    return this.#url(`/upload/storage/v1/b/${encodeURIComponent(bucket)}/o`, query);
  }

  /**
   * Sends one request and resolves to the response (its body unread) when its status is one
   * of `expected`; any other status becomes a `GcsHttpError` carrying the server's message.
   */
  async request(url: string, request: GcsRequest, expected: readonly number[]): Promise<IncomingMessage> {
    const headers: OutgoingHttpHeaders = await this.authHeaders();
    const pieces = request.body === undefined ? [] : typeof request.body === 'string' || Buffer.isBuffer(request.body) ? [request.body] : request.body;
    Object.assign(headers, request.headers, { 'content-length': pieces.reduce((sum, piece) => sum + Buffer.byteLength(piece), 0) });
    const target = new URL(url);
    const transport = target.protocol === 'https:' ? https : http;
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const outgoing = transport.request(target, {
        method: request.method ?? 'GET',
        headers,
        agent: this.#agents[target.protocol as 'http:' | 'https:'],
        signal: request.signal,
      });
      outgoing.once('response', resolve).once('error', reject);
      failWhenSilent(outgoing, this.idleTimeoutMs);
      for (const piece of pieces) outgoing.write(piece);
      outgoing.end();
    });
    if (expected.includes(response.statusCode ?? 0)) return response;
    const body = await text(response).catch(() => '');
    throw new GcsHttpError(response.statusCode ?? 0, `HTTP ${response.statusCode} ${request.method ?? 'GET'}: ${describeBody(body)}`, response.headers);
  }

  /**
   * Opens a request whose body of exactly `length` bytes is written piece by piece as it comes
   * (`write`), for a resumable session's bytes in one request. Its answer is awaited with
   * `finish` once every byte was written; a status not in `expected` is a `GcsHttpError`.
   */
  async open(url: string, request: Omit<GcsRequest, 'body' | 'signal'> & { length: number }, expected: readonly number[]): Promise<StreamedRequest> {
    const headers: OutgoingHttpHeaders = await this.authHeaders();
    Object.assign(headers, request.headers, { 'content-length': request.length });
    const target = new URL(url);
    const transport = target.protocol === 'https:' ? https : http;
    const outgoing = transport.request(target, { method: request.method ?? 'PUT', headers, agent: this.#agents[target.protocol as 'http:' | 'https:'] });
    return new StreamedRequest(outgoing, request.method ?? 'PUT', expected, this.idleTimeoutMs);
  }

  /** The `Authorization` header, if any, as plain name → value pairs. */
  async authHeaders(): Promise<Record<string, string>> {
    const headers: Record<string, string> = {};
    if (this.authorize) for (const [name, value] of new Headers(await this.authorize())) headers[name] = value;
    return headers;
  }

  /** Destroys the keep-alive sockets. */
  close(): void {
    for (const agent of Object.values(this.#agents)) agent.destroy();
  }

  #url(path: string, query: Record<string, string | undefined>): string {
    const url = new URL(this.baseUrl + path);
    for (const [name, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(name, value);
    return url.href;
  }
}

/** A request whose body is being written (see `GcsHttp.open`). */
export class StreamedRequest {
  readonly #answer: Promise<IncomingMessage>;
  #failure: Error | undefined;
  #ending = false;

  constructor(
    private readonly outgoing: http.ClientRequest,
    private readonly method: string,
    private readonly expected: readonly number[],
    /** Armed only while this side waits on the server (a write draining, the answer): not while the caller's next part is read. */
    private readonly idleTimeoutMs: number = GCS_IDLE_TIMEOUT_MS,
  ) {
    this.#answer = new Promise<IncomingMessage>((resolve, reject) => {
      outgoing
        .once('response', (response: IncomingMessage) => {
          // An answer before the whole body was sent is a refusal (a 4xx/5xx): stop writing.
          if (!this.#ending) this.#failure ??= new GcsHttpError(response.statusCode ?? 0, `HTTP ${response.statusCode} ${method}: answered before the body was sent`, response.headers);
          resolve(response);
        })
        .once('error', (error: Error) => {
          this.#failure ??= error;
          reject(error);
        });
    });
    // Awaited by `finish`; a failure before that surfaces through `write`.
    this.#answer.catch(() => {});
  }

  /**
   * Writes the next bytes; resolves once they are handed to the socket, so the caller may
   * reuse `bytes`. The signal destroys the request (its bytes cannot be taken back).
   */
  write(bytes: Buffer, signal?: AbortSignal): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => this.destroy(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      if (signal?.aborted) onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      const settle = (error?: Error | null) => {
        failWhenSilent(this.outgoing, 0);
        signal?.removeEventListener('abort', onAbort);
        if (error || this.#failure) reject(error ?? this.#failure);
        else resolve();
      };
      failWhenSilent(this.outgoing, this.idleTimeoutMs);
      this.outgoing.write(bytes, settle);
      // An early answer (an error status) or a broken socket ends the request without the callback.
      this.#answer.then(() => settle(), settle);
    });
  }

  /** Ends the body and resolves to the answer (body unread) when its status is expected. */
  async finish(): Promise<IncomingMessage> {
    if (this.#failure && !(this.#failure instanceof GcsHttpError)) throw this.#failure;
    this.#ending = true;
    failWhenSilent(this.outgoing, this.idleTimeoutMs);
    this.outgoing.end();
    const response = await this.#answer;
    if (this.expected.includes(response.statusCode ?? 0)) return response;
    const body = await text(response).catch(() => '');
    throw new GcsHttpError(response.statusCode ?? 0, `HTTP ${response.statusCode} ${this.method}: ${describeBody(body)}`, response.headers);
  }

  destroy(error: Error): void {
    this.#failure ??= error;
    this.outgoing.destroy(error);
  }
}

/** A (small) response body as text. */
export async function readJson<T>(response: IncomingMessage): Promise<T> {
  return (await json(response)) as T;
}

/** The API's error message when the body is JSON, else the body's start. */
function describeBody(text: string): string {
  try {
    const message = (JSON.parse(text) as { error?: { message?: unknown } }).error?.message;
    if (typeof message === 'string' && message !== '') return message;
  } catch {
    // not JSON (emulators often answer in plain text)
  }
  return text.slice(0, 300).trim() || '(empty body)';
}
