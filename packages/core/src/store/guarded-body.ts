import { Readable } from 'node:stream';
import type { ByteRange } from '../contracts/cold-store.js';
import type { OpenedObject } from '../driver/cold-store-driver.js';
import type { ColdStoreError } from '../errors/cold-store-error.js';
import { aborted, invalidRange, unavailable, unrecognizedFailure } from '../errors/factories.js';
import { parseContentRange } from '../ranges/byte-range.js';

export interface GuardOptions {
  backend: string;
  key: string;
  range?: ByteRange | undefined;
  signal?: AbortSignal | undefined;
  /** Maps an error of the server's body stream (a reset, a timeout) to the contract's. */
  mapError: (error: unknown) => ColdStoreError;
  /** Told the body bytes received, once the stream ends or is destroyed. */
  onBytes?: ((bytes: number) => void) | undefined;
  /**
   * How long the body may keep a waiting reader without a byte before it fails UNAVAILABLE
   * (a server that stopped mid-body); not counted while the reader itself holds back. 0: never.
   */
  idleTimeoutMs?: number | undefined;
}

/** Which bytes of the server's answer the caller gets: skip some, then pass `take` (or all). */
export interface Plan {
  skip: number;
  take: number | undefined;
}

/**
 * The body a get hands out, checked against what was asked: a ranged answer must be that
 * range (status and `Content-Range`); a whole-object answer to a range is sliced; a range
 * that starts past the end is `INVALID_RANGE` however the server put it; a body that ends
 * before its announced length, or breaks, fails with a `ColdStoreError`. So a get never
 * returns bytes other than those asked for, and a reader never meets a raw socket error.
 */
export function guardBody(opened: OpenedObject, options: GuardOptions): Readable {
  let plan: Plan;
  try {
    plan = planRead(opened, options);
  } catch (error) {
    opened.body.destroy();
    throw error;
  }
  return new GuardedBody(opened, plan, options);
}

/** What of an answer (status, length, `Content-Range`) a read of `range` takes, or the contract's error for a wrong answer. */
export function planRead(opened: Pick<OpenedObject, 'status' | 'contentLength' | 'contentRange'>, { backend, key, range }: Pick<GuardOptions, 'backend' | 'key' | 'range'>): Plan {
  const { status, contentLength } = opened;
  if (!range) {
    if (status !== 200) throw unrecognizedFailure(backend, key, `the server answered a read of the whole object with HTTP ${status}`);
    return { skip: 0, take: contentLength };
  }
  const pastEnd = (size: number) => invalidRange(backend, key, `offset ${range.offset} is at or past the end of a ${size}-byte object`);
  const wantedEnd = range.length === undefined ? undefined : range.offset + range.length - 1;
  if (status === 200) {
    // The server ignored the range and sent the whole object: slice it here.
    if (contentLength !== undefined && range.offset >= contentLength) throw pastEnd(contentLength);
    const end = wantedEnd === undefined || contentLength === undefined ? wantedEnd : Math.min(wantedEnd, contentLength - 1);
    return { skip: range.offset, take: end === undefined ? (contentLength === undefined ? undefined : contentLength - range.offset) : end - range.offset + 1 };
  }
  if (status !== 206) throw unrecognizedFailure(backend, key, `the server answered a ranged read with HTTP ${status}`);
  const answered = parseContentRange(opened.contentRange);
  if (!answered) {
    // `bytes */100`, or nothing at all, with no bytes: the range was not satisfiable.
    if (contentLength === 0 || /^\s*bytes\s+\*\/\d+/i.test(opened.contentRange ?? '')) throw pastEnd(Number(/\/(\d+)/.exec(opened.contentRange ?? '')?.[1] ?? 0));
    throw unrecognizedFailure(backend, key, `the server answered a ranged read with 206 but no usable Content-Range (${JSON.stringify(opened.contentRange)})`);
  }
  if (answered.size !== undefined && range.offset >= answered.size) throw pastEnd(answered.size);
  const lastByte = answered.size === undefined ? wantedEnd : Math.min(wantedEnd ?? answered.size - 1, answered.size - 1);
  if (answered.start > range.offset || (lastByte !== undefined && answered.end < lastByte)) {
    throw unrecognizedFailure(
      backend,
      key,
      `the server answered bytes ${answered.start}-${answered.end} for a read of bytes ${range.offset}-${lastByte ?? ''}`,
    );
  }
  const end = lastByte ?? answered.end;
  return { skip: range.offset - answered.start, take: end - range.offset + 1 };
}

class GuardedBody extends Readable {
  readonly #upstream: Readable;
  readonly #options: GuardOptions;
  #skip: number;
  #left: number | undefined;
  readonly #announced: number | undefined;
  #received = 0;
  #ended = false;
  readonly #onAbort: () => void;
  /** Armed while this body waits for the server's next bytes (see `idleTimeoutMs`). */
  #idle: NodeJS.Timeout | undefined;

  constructor(opened: OpenedObject, plan: Plan, options: GuardOptions) {
    super({ highWaterMark: 256 * 1024 });
    this.#upstream = opened.body;
    this.#options = options;
    this.#skip = plan.skip;
    this.#left = plan.take;
    this.#announced = plan.skip === 0 && plan.take === opened.contentLength ? opened.contentLength : undefined;
    this.#onAbort = () => this.destroy(aborted(options.backend, options.key, options.signal?.reason));
    if (options.signal?.aborted) queueMicrotask(this.#onAbort);
    else options.signal?.addEventListener('abort', this.#onAbort, { once: true });
    this.#upstream.on('data', (chunk: Buffer) => this.#onData(chunk));
    this.#upstream.on('end', () => this.#onEnd());
    this.#upstream.on('error', (error) => this.destroy(this.#failure(error)));
    this.#upstream.on('close', () => {
      if (!this.#ended && !this.destroyed) this.destroy(this.#cutShort());
    });
    this.#upstream.pause();
  }

  override _read(): void {
    this.#upstream.resume();
    this.#awaitBytes();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#stopAwaiting();
    this.#options.signal?.removeEventListener('abort', this.#onAbort);
    this.#options.onBytes?.(this.#received);
    this.#upstream.destroy();
    callback(error);
  }

  #onData(chunk: Buffer): void {
    this.#received += chunk.byteLength;
    let piece = chunk;
    if (this.#skip > 0) {
      const skipped = Math.min(this.#skip, piece.byteLength);
      this.#skip -= skipped;
      piece = piece.subarray(skipped);
    }
    if (this.#left !== undefined) {
      if (piece.byteLength > this.#left) {
        // Everything asked for is here (a sliced whole-object answer): stop reading the rest.
        const wanted = piece.subarray(0, this.#left);
        this.#left = 0;
        this.#ended = true;
        this.#stopAwaiting();
        if (wanted.byteLength > 0) this.push(wanted);
        this.push(null);
        this.#upstream.destroy();
        return;
      }
      this.#left -= piece.byteLength;
    }
    if (piece.byteLength > 0 && !this.push(piece)) {
      // The reader holds back: its pause is not the server's silence.
      this.#upstream.pause();
      this.#stopAwaiting();
    } else this.#awaitBytes();
  }

  /** (Re)starts the wait for the server's next bytes. */
  #awaitBytes(): void {
    const ms = this.#options.idleTimeoutMs;
    if (!ms || this.#ended || this.destroyed) return;
    if (this.#idle) this.#idle.refresh();
    else {
      this.#idle = setTimeout(() => {
        if (this.#ended) return;
        const { backend, key } = this.#options;
        this.destroy(unavailable(backend, key, `no byte of the body for ${ms} ms, after ${this.#received} bytes: the server went silent`));
      }, ms);
      this.#idle.unref();
    }
  }

  #stopAwaiting(): void {
    clearTimeout(this.#idle);
    this.#idle = undefined;
  }

  #onEnd(): void {
    this.#stopAwaiting();
    if (this.#ended) return;
    if (this.#left !== undefined && this.#left > 0) return void this.destroy(this.#cutShort());
    if (this.#skip > 0) {
      const { key, backend, range } = this.#options;
      return void this.destroy(invalidRange(backend, key, `offset ${range?.offset} is at or past the end of a ${this.#received}-byte object`));
    }
    this.#ended = true;
    this.push(null);
  }

  /**
   * The body stream's error as the contract's. Some clients report a reset connection as an
   * AbortError (the Azure SDK's stream does): when the caller did not abort, it is a broken
   * connection, so UNAVAILABLE and retryable.
   */
  #failure(error: unknown): ColdStoreError {
    const { backend, key, signal } = this.#options;
    if (signal?.aborted) return aborted(backend, key, signal.reason);
    const mapped = this.#options.mapError(error);
    if (mapped.code !== 'ABORTED') return mapped;
    return unavailable(backend, key, `the connection broke after ${this.#received} bytes of the body`, error);
  }

  /** The server closed the body before all the bytes it promised. */
  #cutShort(): ColdStoreError {
    const expected = this.#announced ?? (this.#left === undefined ? undefined : this.#received + this.#left);
    return unavailable(this.#options.backend, this.#options.key, `the body ended after ${this.#received} bytes${expected === undefined ? '' : ` of ${expected}`}`);
  }
}
