import { GCS_CHUNK_GRANULE } from './config.js';
import { readJson, type GcsHttp } from './gcs-http.js';
import type { ObjectResource } from './object-resource.js';

export interface ResumableStart {
  bucket: string;
  /** The object resource to create: name, metadata, and any declared `crc32c` to verify. */
  resource: ObjectResource & { name: string; contentType?: string; crc32c?: string | undefined };
  /** `0` makes the upload create-only (GCS answers 412 when the object exists). */
  ifGenerationMatch?: number | undefined;
}

/** GCS answers a chunk it stored, with more to come, with 308 and `Range: bytes=0-<last>`. */
const RESUME_INCOMPLETE = 308;
/** Requests one chunk may take when the server keeps storing less than it was sent. */
const MAX_RESENDS = 8;

/**
 * One GCS resumable upload session, driven chunk by chunk
 * (https://cloud.google.com/storage/docs/performing-resumable-uploads#chunked-upload). Each
 * part is sent as it comes, in multiples of 256 KiB; the unaligned tail of the last part (less
 * than 256 KiB, copied) waits for `finish`, which sends it with the total size and the whole
 * object's CRC32C, or, with no tail, an empty request naming only those (as Google's own
 * clients end a stream that stopped on a chunk boundary). The object appears only when
 * `finish` succeeds; `cancel` ends the session, leaving nothing.
 */
export class ResumableUpload {
  /** Bytes the server has stored so far. */
  #offset = 0;
  #tail: Buffer | undefined;

  private constructor(
    private readonly http: GcsHttp,
    /** The session URI; it names the upload and is all a later call needs. */
    readonly uri: string,
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
    return new ResumableUpload(http, location);
  }

  /** Reopens a session by its URI (to cancel one a crashed writer left). */
  static resume(http: GcsHttp, uri: string): ResumableUpload {
    return new ResumableUpload(http, uri);
  }

  /** Sends a part: its 256 KiB-aligned bytes now, any unaligned tail (the last part's) at `finish`. */
  async write(part: Buffer, signal?: AbortSignal): Promise<void> {
    if (this.#tail) throw new Error('gcs: a part after the unaligned last one');
    const aligned = part.byteLength - (part.byteLength % GCS_CHUNK_GRANULE);
    if (aligned > 0) await this.#send(part.subarray(0, aligned), undefined, undefined, signal);
    if (aligned < part.byteLength) this.#tail = Buffer.from(part.subarray(aligned));
  }

  /**
   * Sends the tail with the total size and the whole object's CRC32C in `x-goog-hash`, so GCS
   * verifies the object it assembled before creating it, and returns the created object.
   */
  async finish(total: number, crc32c: string): Promise<ObjectResource> {
    const resource = await this.#send(this.#tail ?? Buffer.alloc(0), total, crc32c);
    if (!resource) throw new Error('gcs: the final request of a resumable upload was not acknowledged as complete');
    return resource;
  }

  /** Ends the session without creating the object; GCS answers 499. Throws if it cannot be asked. */
  async cancel(): Promise<void> {
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
