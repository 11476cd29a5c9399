import { GCS_CHUNK_GRANULE } from './config.js';
import { GcsHttpError, readJson, type GcsHttp, type StreamedRequest } from './gcs-http.js';
import type { ObjectResource } from './object-resource.js';

export interface ResumableStart {
  bucket: string;
  /** The object resource to create: name, metadata, and any declared `crc32c` to verify. */
  resource: ObjectResource & { name: string; contentType?: string; crc32c?: string | undefined };
  /** `0` makes the upload create-only (GCS answers 412 when the object exists). */
  ifGenerationMatch?: number | undefined;
  /** The object's size when known up front: its 256 KiB-aligned bytes are then streamed in one request. */
  size?: number | undefined;
}

/** Most bytes one streamed request carries (a larger object takes a few): what a failure costs to send again. */
const MAX_STREAMED_BYTES = 4 * 1024 ** 3;

/** GCS answers a chunk it stored, with more to come, with 308 and `Range: bytes=0-<last>`. */
const RESUME_INCOMPLETE = 308;
/** Requests one chunk may take when the server keeps storing less than it was sent. */
const MAX_RESENDS = 8;

/**
 * The streamed request of a session failed without an answer (a reset, a silent server): the
 * session cannot go on, and every later call on it fails with this same error. `cause` is
 * what the request met, which decides the contract code (a reset is a retryable UNAVAILABLE).
 */
export class StreamedRequestBroken extends Error {
  override readonly name = 'StreamedRequestBroken';
  constructor(
    /** Bytes written into the session's streamed requests before it broke. */
    readonly streamed: number,
    cause: Error,
  ) {
    super(`the resumable upload's streamed request broke after ${streamed} bytes had been sent (${cause.message})`, { cause });
  }
}

/**
 * One GCS resumable upload session
 * (https://cloud.google.com/storage/docs/performing-resumable-uploads). When the object's size
 * is known up front, its bytes are streamed in one request (up to 4 GiB a request) that parts
 * are written into as they come: one request per chunk costs a request each, and
 * fake-gcs-server rewrites the whole object so far at every chunk (measured: 16 chunks of 16
 * MiB, 5.1 server CPU-s for 256 MiB; one request, 1.5). A streamed request that fails cannot be
 * resent part by part (its earlier parts are gone), so the put fails and its caller retries it
 * whole. It is not resumed from the session's committed offset either: the bytes between that
 * offset and the part in hand are no longer in memory (the write path reads a body once, into
 * reused part buffers), and fake-gcs-server answers GCS's status query (`Content-Range: bytes
 * *\/<total>`) by creating the object from the bytes it has, truncated (see docs/ARCHITECTURE.md,
 * "Backends"). Without a known size, each part is its own request (a chunked upload, each chunk
 * retried on its own).
 *
 * When the session's metadata declares the object's CRC32C (the caller hashed it first), the
 * last streamed request names the total and creates the object, GCS checking the declared
 * CRC32C against what it assembled: one request where the other way takes two (and
 * fake-gcs-server hashes the whole object again at each). Its very last byte is held back for
 * `finish`, so the object is still created by `finish` alone, as the commit it is (an abort
 * before it leaves a body one byte short, which the server discards). Otherwise the unaligned
 * tail of the last part (less than 256 KiB, copied) waits for `finish`, which sends it with the
 * total size and the whole object's CRC32C in `x-goog-hash`, or, with no tail, an empty request
 * naming only those (as Google's own clients end a stream that stopped on a chunk boundary).
 * The object appears only when `finish` succeeds; `cancel` ends the session, leaving nothing.
 */
export class ResumableUpload {
  /** Bytes the server has stored so far. */
  #offset = 0;
  #tail: Buffer | undefined;
  /** Bytes written into streamed requests so far. */
  #streamed = 0;
  #stream: { request: StreamedRequest; end: number } | undefined;
  #broken: Error | undefined;

  private constructor(
    private readonly http: GcsHttp,
    /** The session URI; it names the upload and is all a later call needs. */
    readonly uri: string,
    /** The bytes to stream: the known size, less its unaligned tail unless `whole`; `undefined`: chunk by chunk. */
    private readonly streamable?: number | undefined,
    /** The object's size and declared CRC32C when the streamed requests carry all of it, the last one creating it. */
    private readonly whole?: { size: number; crc32c: string } | undefined,
  ) {}

  /** Opens a session (the object's metadata and preconditions are fixed here). */
  static async start(http: GcsHttp, start: ResumableStart): Promise<ResumableUpload> {
    const url = http.uploadUrl(start.bucket, {
      uploadType: 'resumable',
      name: start.resource.name,
      ifGenerationMatch: start.ifGenerationMatch === undefined ? undefined : String(start.ifGenerationMatch),
    });
    const response = await http.request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=UTF-8', 'x-upload-content-type': 'application/octet-stream' },
        body: JSON.stringify(start.resource),
      },
      [200, 201],
    );
    response.resume();
    const location = response.headers.location;
    if (!location) throw new Error('gcs: resumable upload started without a session URI (no Location header)');
    const { size } = start;
    if (size === undefined) return new ResumableUpload(http, location);
    // With its CRC32C declared, GCS verifies the object as the last byte arrives: stream it all.
    const { crc32c } = start.resource;
    if (crc32c !== undefined) return new ResumableUpload(http, location, size, { size, crc32c });
    return new ResumableUpload(http, location, size - (size % GCS_CHUNK_GRANULE));
  }

  /** Whether parts go into one streamed request (a declared size): a failed part cannot then be sent again. */
  get streams(): boolean {
    return this.streamable !== undefined;
  }

  /** Reopens a session by its URI (to cancel one a crashed writer left). */
  static resume(http: GcsHttp, uri: string): ResumableUpload {
    return new ResumableUpload(http, uri);
  }

  /** Sends a part: its 256 KiB-aligned bytes now (all but the object's last byte, when streaming to a known total), the rest at `finish`. */
  async write(part: Buffer, signal?: AbortSignal): Promise<void> {
    if (this.#tail) throw new Error('gcs: a part after the unaligned last one');
    const aligned = this.whole !== undefined ? part.byteLength : part.byteLength - (part.byteLength % GCS_CHUNK_GRANULE);
    if (aligned > 0 && this.streamable !== undefined) await this.#streamBytes(part.subarray(0, aligned), signal);
    else if (aligned > 0) await this.#send(part.subarray(0, aligned), undefined, undefined, signal);
    if (aligned < part.byteLength) this.#tail = Buffer.from(part.subarray(aligned));
  }

  /** Writes bytes into the open streamed request (opening the next as needed); ends each one it fills. */
  async #streamBytes(bytes: Buffer, signal?: AbortSignal): Promise<void> {
    if (this.#broken) throw this.#broken;
    try {
      for (let at = 0; at < bytes.byteLength; ) {
        if (!this.#stream) {
          const length = Math.min(MAX_STREAMED_BYTES, this.streamable! - this.#streamed);
          if (length <= 0) throw new Error(`gcs: more bytes than the ${this.streamable} bytes declared`);
          const range = `bytes ${this.#streamed}-${this.#streamed + length - 1}/${this.whole?.size ?? '*'}`;
          const headers: Record<string, string> = { 'content-range': range, 'content-type': 'application/octet-stream' };
          const creates = this.#streamed + length === this.whole?.size;
          // GCS checks the session's declared CRC32C; x-goog-hash names it again on the request that creates.
          if (creates) headers['x-goog-hash'] = `crc32c=${this.whole!.crc32c}`;
          const request = await this.http.open(this.uri, { method: 'PUT', headers, length }, creates ? [200, 201] : [RESUME_INCOMPLETE]);
          this.#stream = { request, end: this.#streamed + length };
        }
        const { request, end } = this.#stream;
        const take = Math.min(bytes.byteLength - at, end - this.#streamed);
        // The object's last byte waits for `finish` (see the class comment).
        const holdBack = this.#streamed + take === this.whole?.size ? 1 : 0;
        if (holdBack) this.#tail = Buffer.from(bytes.subarray(at + take - 1, at + take));
        if (take > holdBack) await request.write(bytes.subarray(at, at + take - holdBack), signal);
        this.#streamed += take - holdBack;
        at += take;
        if (this.#streamed === end) {
          this.#stream = undefined;
          const response = await request.finish();
          response.resume();
          const stored = /bytes=0-(\d+)/.exec(response.headers.range ?? '');
          this.#offset = stored ? Number(stored[1]) + 1 : 0;
          if (this.#offset !== end) throw new Error(`gcs: the session stored ${this.#offset} of the ${end} bytes streamed`);
        }
      }
    } catch (error) {
      const broken = this.#breaks(error);
      this.#stream?.request.destroy(broken);
      throw broken;
    }
  }

  /**
   * Records why the streamed request failed; the session goes no further. The server's own
   * answer (a refused CRC32C, a 503) stays as it is; a request that got none (a reset, a
   * silent server) is described as broken, with how far it got.
   */
  #breaks(error: unknown): Error {
    if (error instanceof GcsHttpError) this.#broken ??= error;
    else this.#broken ??= new StreamedRequestBroken(this.#streamed, error instanceof Error ? error : new Error(String(error)));
    return this.#broken;
  }

  /**
   * Sends the tail with the total size and the whole object's CRC32C in `x-goog-hash`, so GCS
   * verifies the object it assembled before creating it, and returns the created object. When
   * the bytes stream to a declared total, the tail is the last byte of the open request.
   */
  async finish(total: number, crc32c: string): Promise<ObjectResource> {
    if (this.#broken) throw this.#broken;
    if (this.whole && this.#stream) return this.#create(this.#stream.request, total, crc32c);
    if (this.#stream) throw new Error(`gcs: finishing a session whose streamed request has ${this.#stream.end - this.#streamed} bytes still to come`);
    const resource = await this.#send(this.#tail ?? Buffer.alloc(0), total, crc32c);
    if (!resource) throw new Error('gcs: the final request of a resumable upload was not acknowledged as complete');
    return resource;
  }

  /** Writes the last byte held back into the request that creates the object, and reads its answer. */
  async #create(request: StreamedRequest, total: number, crc32c: string): Promise<ObjectResource> {
    const { size, crc32c: declared } = this.whole!;
    if (total !== size || crc32c !== declared || this.#streamed !== size - 1 || !this.#tail) {
      throw new Error(`gcs: finishing a ${size}-byte upload declared with crc32c ${declared} as ${total} bytes with ${crc32c}, ${this.#streamed} bytes sent`);
    }
    try {
      await request.write(this.#tail);
      this.#stream = undefined;
      this.#streamed = this.#offset = size;
      return await readJson<ObjectResource>(await request.finish());
    } catch (error) {
      const broken = this.#breaks(error);
      request.destroy(broken);
      throw broken;
    }
  }

  /** Ends the session without creating the object; GCS answers 499. Throws if it cannot be asked. */
  async cancel(): Promise<void> {
    this.#stream?.request.destroy(new Error('cancelled'));
    this.#stream = undefined;
    (await this.http.request(this.uri, { method: 'DELETE' }, [499, 200, 204, 404, 410])).resume();
  }

  /** Sends `chunk`, resending whatever tail the server reports it did not store. */
  async #send(chunk: Buffer, total: number | undefined, crc32c: string | undefined, signal?: AbortSignal): Promise<ObjectResource | undefined> {
    const chunkStart = this.#offset;
    const end = chunkStart + chunk.byteLength;
    for (let attempt = 1; ; attempt++) {
      if (attempt > MAX_RESENDS) throw new Error(`gcs: the resumable session kept answering 308 at offset ${this.#offset} of ${end}`);
      const slice = chunk.subarray(this.#offset - chunkStart);
      const range = slice.byteLength === 0 ? `bytes */${total ?? '*'}` : `bytes ${this.#offset}-${end - 1}/${total ?? '*'}`;
      const headers: Record<string, string> = { 'content-range': range, 'content-type': 'application/octet-stream' };
      if (crc32c !== undefined) headers['x-goog-hash'] = `crc32c=${crc32c}`;
      const response = await this.http.request(this.uri, { method: 'PUT', headers, body: slice, signal }, [200, 201, RESUME_INCOMPLETE]);
      if (response.statusCode !== RESUME_INCOMPLETE) {
        this.#offset = end;
        return readJson<ObjectResource>(response);
      }
      response.resume();
      const stored = /bytes=0-(\d+)/.exec(response.headers.range ?? '');
      this.#offset = stored ? Number(stored[1]) + 1 : 0;
      if (this.#offset < chunkStart) throw new Error(`gcs: resumable session lost bytes already acknowledged (server has ${this.#offset})`);
      if (this.#offset >= end && total === undefined) return undefined;
    }
  }
}
