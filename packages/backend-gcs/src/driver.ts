import { Storage } from '@google-cloud/storage';
import { CHECKSUM_METADATA_KEYS, type ByteRange, checksumMismatch, containerMissing, httpRangeHeader, isColdStoreError, withChecksumMetadata, type ColdStoreDriver, type ColdStoreError, type DriverFeatures, type DriverLimits, type ErrorContext, type ListPage, type ListRequest, type MultipartCompletion, type MultipartStart, type MultipartUpload, type ObjectRead, type ObjectRequest, type ObjectWrite, type OpenedObject, type OpenUpload, type PartWrite, type SignedRead, type StoredObject, type UploadedPart, type WriteReceipt } from '@takhin/core';
import { chunkSizeBytes, type GcsConfig } from './config.js';
import { BACKEND, httpStatus, toColdStoreError } from './errors.js';
import { GCS_IDLE_TIMEOUT_MS, GcsHttp, readJson } from './gcs-http.js';
import { describeObject, type ObjectResource } from './object-resource.js';
import { ResumableUpload } from './resumable-upload.js';
import { uploadSimple } from './simple-upload.js';

const DEFAULT_ENDPOINT = 'https://storage.googleapis.com';
const CONTENT_TYPE = 'application/octet-stream';

/** A resumable session, numbered parts sent one at a time. */
interface GcsUpload extends MultipartUpload {
  session: ResumableUpload;
  startedAt: Date;
}

/**
 * Google Cloud Storage. Bodies shorter than one chunk go in one multipart/related request with
 * the CRC32C in the metadata part (the server verifies it); longer ones through a resumable
 * session, parts one at a time (GCS takes a session's chunks in order), the whole object's
 * CRC32C on the final request, or in the session's metadata when the caller declared it up
 * front (`checksumsFirst`; the object is then created, verified and with its SHA-256, by the
 * one request its bytes stream in). SHA-256 rides in object metadata. The SDK serves auth and the
 * metadata calls; the byte paths are our own requests (why: see gcs-http.ts).
 */
export class GcsDriver implements ColdStoreDriver<GcsUpload> {
  readonly backend = BACKEND;
  readonly limits: DriverLimits;
  readonly features: DriverFeatures = { sha256OnHead: true, serverVerifiesCrc32c: true, conditionalWrites: 'probe', checksumsFirst: true };
  /** The SDK, for its credentials only (see gcs-http.ts). */
  readonly storage: Storage;
  readonly #http: GcsHttp;
  /** Sessions opened and neither finished nor cancelled: GCS cannot list them, so this is the ledger. */
  readonly #sessions = new Map<string, GcsUpload>();
  #bucketSeen = false;

  /** `idleTimeoutMs`: how long a request may wait on a silent server (30 s; tests shorten it). */
  constructor(
    readonly config: GcsConfig,
    options: { idleTimeoutMs?: number } = {},
  ) {
    const idleTimeoutMs = options.idleTimeoutMs ?? GCS_IDLE_TIMEOUT_MS;
    this.limits = { maxNameBytes: 1024, partSize: chunkSizeBytes(config), partsInFlight: 1 };
    this.storage = new Storage({
      projectId: config.projectId,
      keyFilename: config.keyFilename,
      apiEndpoint: config.endpoint,
      // Retries happen once, in core's retry layer.
      retryOptions: { autoRetry: false, maxRetries: 0 },
    });
    // An emulator takes no credentials, as the SDK itself assumes for a custom endpoint.
    const authorize = config.endpoint ? undefined : () => this.storage.authClient.getRequestHeaders();
    this.#http = new GcsHttp((config.endpoint ?? DEFAULT_ENDPOINT).replace(/\/+$/, ''), authorize, idleTimeoutMs);
  }

  async putObject(write: ObjectWrite): Promise<WriteReceipt> {
    const resource = this.#resource(write.name, withChecksumMetadata(write.metadata, { sha256: write.checksums.sha256 }), write.checksums.crc32c);
    const created = await this.#naming(() =>
      uploadSimple(this.#http, { bucket: this.config.bucket, resource: { ...resource, crc32c: write.checksums.crc32c }, bytes: write.body, ifGenerationMatch: write.ifNoneMatch ? 0 : undefined }),
    );
    return receipt(created);
  }

  async createMultipart(start: MultipartStart): Promise<GcsUpload> {
    // A declared crc32c is checked by GCS at finalize too; SHA-256, unknown yet, is added after.
    const resource = this.#resource(start.name, withChecksumMetadata(start.metadata, { sha256: start.declared.sha256 }), start.declared.crc32c);
    const session = await this.#naming(() => ResumableUpload.start(this.#http, { bucket: this.config.bucket, resource, ifGenerationMatch: start.ifNoneMatch ? 0 : undefined, size: start.size }));
    // A session streaming to a declared size cannot send a failed part again (resumable-upload.ts).
    const upload: GcsUpload = { key: start.key, name: start.name, id: session.uri, session, startedAt: new Date(), partsResendable: !session.streams };
    this.#sessions.set(upload.id, upload);
    return upload;
  }

  async uploadPart({ upload, number, body, crc32c, signal }: PartWrite<GcsUpload>): Promise<UploadedPart> {
    await upload.session.write(body, signal);
    return { number, crc32c, size: body.byteLength };
  }

  /**
   * Finalizes the session, then checks the CRC32C the server computed for what it assembled
   * against ours (an emulator may not check `x-goog-hash`): on a mismatch that exact generation
   * is removed (only ours, by generation) and the put fails. Then records SHA-256.
   */
  async completeMultipart({ upload, size, checksums, metadata }: MultipartCompletion<GcsUpload>): Promise<WriteReceipt> {
    const created = await this.#naming(() => upload.session.finish(size, checksums.crc32c));
    this.#sessions.delete(upload.id);
    const generation = String(created.generation);
    if (created.crc32c !== undefined && created.crc32c !== checksums.crc32c) {
      await this.#http.request(this.#http.objectUrl(this.config.bucket, upload.name, { ifGenerationMatch: generation }), { method: 'DELETE' }, [200, 204]).then((response) => response.resume(), () => {});
      throw checksumMismatch(BACKEND, upload.key, `the server stored crc32c ${created.crc32c}, the bytes sent have ${checksums.crc32c}`);
    }
    if (created.metadata?.[CHECKSUM_METADATA_KEYS.sha256] === checksums.sha256) return receipt(created);
    const url = this.#http.objectUrl(this.config.bucket, upload.name, {
      ifGenerationMatch: generation,
      ifMetagenerationMatch: created.metageneration === undefined ? undefined : String(created.metageneration),
    });
    const body = JSON.stringify({ metadata: withChecksumMetadata(metadata, checksums) });
    try {
      const response = await this.#http.request(url, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body }, [200]);
      return receipt(await readJson<ObjectResource>(response));
    } catch (error) {
      // 412: another write replaced (or changed) the generation this put created; 404: a delete
      // removed it. Either came after this put's object landed, which it must not undo or deny
      // (412 would otherwise read as ALREADY_EXISTS for a put that never asked ifNoneMatch).
      const status = httpStatus(error);
      if (status === 412 || status === 404) return receipt(created);
      throw error;
    }
  }

  async abortMultipart(upload: MultipartUpload): Promise<void> {
    const session = this.#sessions.get(upload.id)?.session ?? ResumableUpload.resume(this.#http, upload.id);
    await session.cancel();
    this.#sessions.delete(upload.id);
  }

  async getObject({ name, range, signal }: ObjectRead): Promise<OpenedObject> {
    const { url, headers } = this.#mediaRead(name, range);
    const response = await this.#naming(() => this.#http.request(url, { headers, signal }, [200, 206]));
    const length = response.headers['content-length'];
    return { body: response, status: response.statusCode ?? 200, contentRange: response.headers['content-range'], contentLength: length === undefined ? undefined : Number(length) };
  }

  /** The same read as `getObject`, for core to send itself. */
  async signRead({ name, range }: ObjectRead): Promise<SignedRead | undefined> {
    const { url, headers } = this.#mediaRead(name, range);
    return { url, headers: { ...headers, ...(await this.#http.authHeaders()) } };
  }

  /** A media download of the object or a slice (identity encoding: the bytes as stored). */
  #mediaRead(name: string, range: ByteRange | undefined): { url: string; headers: Record<string, string> } {
    const headers: Record<string, string> = { 'accept-encoding': 'identity' };
    if (range) headers.range = httpRangeHeader(range);
    return { url: this.#http.objectUrl(this.config.bucket, name, { alt: 'media' }), headers };
  }

  async headObject({ name, signal }: ObjectRequest): Promise<StoredObject | null> {
    try {
      return describeObject(await readJson<ObjectResource>(await this.#http.request(this.#http.objectUrl(this.config.bucket, name), { signal }, [200])));
    } catch (error) {
      if (httpStatus(error) === 404) return null;
      throw error;
    }
  }

  async listPage({ prefix, cursor, pageSize, signal }: ListRequest): Promise<ListPage> {
    const url = this.#http.listUrl(this.config.bucket, { prefix, pageToken: cursor, maxResults: pageSize === undefined ? undefined : String(pageSize) });
    const page = await this.#naming(async () => readJson<{ items?: ObjectResource[]; nextPageToken?: string }>(await this.#http.request(url, { signal }, [200])));
    return { objects: (page.items ?? []).map(describeObject), cursor: page.nextPageToken || undefined };
  }

  async deleteObject({ name, signal }: ObjectRequest): Promise<void> {
    try {
      (await this.#http.request(this.#http.objectUrl(this.config.bucket, name), { method: 'DELETE', signal }, [200, 204])).resume();
    } catch (error) {
      // A missing object is fine; a missing bucket is not.
      if (httpStatus(error) !== 404) throw error;
      await this.assertContainer(signal);
    }
  }

  async assertContainer(signal?: AbortSignal): Promise<void> {
    if (this.#bucketSeen) return;
    try {
      (await this.#http.request(this.#http.bucketUrl(this.config.bucket), { signal }, [200])).resume();
    } catch (error) {
      if (httpStatus(error) === 404) throw containerMissing(BACKEND, 'bucket', this.config.bucket);
      throw error;
    }
    this.#bucketSeen = true;
  }

  /**
   * Sessions this driver opened and has not finished or cancelled. GCS cannot list sessions
   * (they expire after a week, never visible as objects), so this ledger is the honest answer.
   */
  async listOpenUploads(prefix: string): Promise<OpenUpload[]> {
    return [...this.#sessions.values()].filter((upload) => upload.name.startsWith(prefix)).map(({ key, name, id, startedAt }) => ({ key, name, id, startedAt }));
  }

  mapError(error: unknown, context: ErrorContext): ColdStoreError {
    return toColdStoreError(error, context);
  }

  /** Releases the byte paths' keep-alive sockets (the SDK holds none between calls). */
  async close(): Promise<void> {
    this.#http.close();
  }

  #resource(name: string, metadata: Record<string, string>, crc32c: string | undefined) {
    return {
      name,
      contentType: CONTENT_TYPE,
      metadata,
      ...(crc32c !== undefined && { crc32c }),
      ...(this.config.storageClass !== undefined && { storageClass: this.config.storageClass }),
    };
  }

  /** Runs a request; a 404 from it names the bucket when the bucket is what is missing. */
  async #naming<T>(request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      if (httpStatus(error) === 404) await this.assertContainer().catch((missing: unknown) => {
        if (isColdStoreError(missing, 'NOT_FOUND')) throw missing;
      });
      throw error;
    }
  }
}

function receipt(resource: ObjectResource): WriteReceipt {
  return { etag: resource.etag, lastModified: resource.updated ? new Date(resource.updated) : undefined, storageClass: resource.storageClass };
}
