import { readJson, type GcsHttp } from './gcs-http.js';
import type { ObjectResource } from './object-resource.js';

export interface ResumableStart {
  bucket: string;
  /** The object resource to create: name, metadata, and any declared `crc32c` to verify. */
  resource: ObjectResource & { name: string; contentType?: string; crc32c?: string };
  /** `0` makes the upload create-only (GCS answers 412 when the object exists). */
  ifGenerationMatch?: number;
  signal?: AbortSignal;
}

/** GCS answers a chunk it stored, with more to come, with 308 and `Range: bytes=0-<last>`. */
const RESUME_INCOMPLETE = 308;

/**
 * One GCS resumable upload session, driven chunk by chunk
 * (https://cloud.google.com/storage/docs/performing-resumable-uploads#chunked-upload).
 * The caller holds one chunk at a time; the object appears only when `finish` succeeds, and
 * `cancel` ends the session so nothing is left behind.
 */
export class ResumableUpload {
  /** Bytes the server has stored so far. */
  #offset = 0;

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
        signal: start.signal,
      },
      [200, 201],
    );
    response.resume();
    const location = response.headers.location;
    if (!location) throw new Error('gcs: resumable upload started without a session URI (no Location header)');
    return new ResumableUpload(http, location);
  }

  /** Sends a chunk that is not the last; its length must be a multiple of 256 KiB. */
  async write(chunk: Buffer, signal?: AbortSignal): Promise<void> {
    await this.#send(chunk, undefined, undefined, signal);
  }

  /**
   * Sends the last chunk with the whole object's CRC32C in `x-goog-hash`, so GCS verifies
   * the object it assembled before creating it, and returns the created object.
   */
  async finish(chunk: Buffer, crc32c: string, signal?: AbortSignal): Promise<ObjectResource> {
    const resource = await this.#send(chunk, this.#offset + chunk.byteLength, crc32c, signal);
    if (!resource) throw new Error('gcs: the final chunk of a resumable upload was not acknowledged as complete');
    return resource;
  }

  /** Ends the session without creating the object; GCS answers 499. Best effort. */
  async cancel(): Promise<boolean> {
    try {
      (await this.http.request(this.uri, { method: 'DELETE' }, [499, 200, 204, 404, 410])).resume();
      return true;
    } catch {
      return false;
    }
  }

  /** Sends `chunk`, resending whatever tail the server reports it did not store. */
  async #send(chunk: Buffer, total: number | undefined, crc32c: string | undefined, signal?: AbortSignal): Promise<ObjectResource | undefined> {
    const end = this.#offset + chunk.byteLength;
    const chunkStart = this.#offset;
    for (;;) {
      const slice = chunk.subarray(this.#offset - chunkStart);
      const headers: Record<string, string> = {
        'content-range': `bytes ${this.#offset}-${end - 1}/${total ?? '*'}`,
        'content-type': 'application/octet-stream',
      };
      if (crc32c !== undefined) headers['x-goog-hash'] = `crc32c=${crc32c}`;
      const response = await this.http.request(this.uri, { method: 'PUT', headers, body: slice, signal }, [200, 201, RESUME_INCOMPLETE]);
      if (response.statusCode !== RESUME_INCOMPLETE) {
        this.#offset = end;
        return readJson<ObjectResource>(response);
      }
      response.resume();
      const stored = /bytes=0-(\d+)/.exec(response.headers.range ?? '');
      this.#offset = stored ? Number(stored[1]) + 1 : chunkStart;
      if (this.#offset >= end) return undefined;
      if (this.#offset < chunkStart) throw new Error(`gcs: resumable session lost bytes already acknowledged (server has ${this.#offset})`);
    }
  }
}
