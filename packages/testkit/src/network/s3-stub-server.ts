import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { listenOnLoopback } from './loopback-server.js';
import { s3ErrorAnswer } from './stub-http-server.js';

/** The ways a real S3-compatible server has been seen to fall short of S3; all off by default. */
export interface S3StubImperfections {
  /** GET with a Range: answer 200 with the whole object. */
  ignoreRange?: boolean;
  /** A range starting at or past the end: answer this instead of 416 InvalidRange. */
  rangePastEnd?: 'empty-200' | 'whole-200' | 'empty-206';
  /** `If-None-Match: *` on PutObject and CompleteMultipartUpload: accept and overwrite. */
  ignoreConditionalWrites?: boolean;
  /** DeleteObjects (`POST ?delete`): refuse with 501 NotImplemented. */
  rejectBatchDelete?: boolean;
  /** ListObjectsV2: every truncated page names the first page's continuation token, so a client that follows it loops. */
  repeatListToken?: boolean;
  /** ListObjectsV2: a truncated page names no continuation token (as the old ListObjects does without a delimiter). */
  omitListToken?: boolean;
  /** The next `times` object GETs are answered 503 SlowDown with `Retry-After: <seconds>`. */
  throttleGets?: { times: number; retryAfterSeconds: number };
}

interface StoredObject {
  body: Buffer;
  metadata: Record<string, string>;
  storageClass: string | undefined;
  crc32c: string | undefined;
  etag: string;
  lastModified: Date;
}

export interface S3StubServer {
  url: string;
  /** Requests received so far, in order. */
  requests: Array<{ method: string; path: string; headers: http.IncomingHttpHeaders }>;
  /** Objects by bucket/key, as stored. */
  objects: Map<string, StoredObject>;
  imperfections: S3StubImperfections;
  close(): Promise<void>;
}

const xml = (body: string) => `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
const escapeXml = (text: string) => text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
const unescapeXml = (text: string) => text.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code))).replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'");

/**
 * A small in-memory S3 (path-style, no authentication) that the real AWS SDK and minio client
 * can talk to, with the imperfections of S3-compatible servers met in the wild switchable one
 * by one: for proving what a store does about behaviour MinIO itself will not show. Supports
 * what the stores use: object put/get/head/delete, multipart writes, DeleteObjects, listings.
 */
export async function startS3StubServer(imperfections: S3StubImperfections = {}): Promise<S3StubServer> {
  const objects = new Map<string, StoredObject>();
  const uploads = new Map<string, { key: string; parts: Map<number, Buffer>; metadata: Record<string, string>; storageClass: string | undefined; initiated: Date }>();
  const requests: S3StubServer['requests'] = [];
  const stub: Omit<S3StubServer, 'url' | 'close'> = { requests, objects, imperfections };
  let firstListToken: string | undefined;

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', 'http://stub');
    requests.push({ method: request.method ?? '', path: `${url.pathname}${url.search}`, headers: request.headers });
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const [, bucket = '', ...rest] = url.pathname.split('/');
    const key = decodeURIComponent(rest.join('/'));
    const id = `${bucket}/${key}`;
    const q = url.searchParams;
    const send = (status: number, headers: Record<string, string> = {}, payload?: string | Buffer) => {
      response.writeHead(status, { ...(payload !== undefined && { 'content-length': String(Buffer.byteLength(payload)) }), ...headers });
      response.end(request.method === 'HEAD' ? undefined : payload);
    };
    const fail = (status: number, code: string) => {
      const answer = s3ErrorAnswer(status, code);
      send(answer.status, answer.headers, answer.body);
    };
    const exists = objects.has(id);
    const conditionFails = request.headers['if-none-match'] === '*' && exists && !stub.imperfections.ignoreConditionalWrites;
    const storageClassHeader = request.headers['x-amz-storage-class'] as string | undefined;
    const store = (bytes: Buffer, metadata: Record<string, string>, storageClass: string | undefined) => {
      const object = { body: bytes, metadata, storageClass, crc32c: request.headers['x-amz-checksum-crc32c'] as string | undefined, etag: `"${randomUUID()}"`, lastModified: new Date() };
      objects.set(id, object);
      return object;
    };
    const metadataOf = () =>
      Object.fromEntries(Object.entries(request.headers).filter(([name]) => name.startsWith('x-amz-meta-')).map(([name, value]) => [name, String(value)]));

    if (key === '') {
      if (request.method === 'HEAD') return send(200);
      if (request.method === 'POST' && q.has('delete')) {
        if (stub.imperfections.rejectBatchDelete) return fail(501, 'NotImplemented');
        for (const match of body.toString('utf8').matchAll(/<Key>([^<]*)<\/Key>/g)) objects.delete(`${bucket}/${unescapeXml(match[1]!)}`);
        return send(200, { 'content-type': 'application/xml' }, xml('<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></DeleteResult>'));
      }
      if (request.method === 'GET' && q.has('uploads')) {
        const items = [...uploads].filter(([, u]) => u.key.startsWith(`${bucket}/`)).map(([uploadId, u]) =>
          `<Upload><Key>${escapeXml(u.key.slice(bucket.length + 1))}</Key><UploadId>${uploadId}</UploadId><Initiated>${u.initiated.toISOString()}</Initiated></Upload>`);
        return send(200, { 'content-type': 'application/xml' }, xml(`<ListMultipartUploadsResult><Bucket>${bucket}</Bucket><IsTruncated>false</IsTruncated>${items.join('')}</ListMultipartUploadsResult>`));
      }
      if (request.method === 'GET') {
        const prefix = q.get('prefix') ?? '';
        // Pages of `max-keys`; the continuation token is the page's last name, in base64.
        const after = q.has('continuation-token') ? Buffer.from(q.get('continuation-token')!, 'base64').toString('utf8') : '';
        const matching = [...objects].filter(([name]) => name.startsWith(`${bucket}/${prefix}`) && name > after).sort(([a], [b]) => (a < b ? -1 : 1));
        const page = matching.slice(0, Number(q.get('max-keys') ?? 1000));
        const truncated = page.length < matching.length;
        const token = (name: string) => Buffer.from(name).toString('base64');
        if (truncated && stub.imperfections.repeatListToken) firstListToken ??= token(page.at(-1)![0]);
        const next = truncated && !stub.imperfections.omitListToken ? `<NextContinuationToken>${stub.imperfections.repeatListToken ? firstListToken : token(page.at(-1)![0])}</NextContinuationToken>` : '';
        const items = page.map(([name, o]) =>
          `<Contents><Key>${escapeXml(name.slice(bucket.length + 1))}</Key><LastModified>${o.lastModified.toISOString()}</LastModified><ETag>${escapeXml(o.etag)}</ETag><Size>${o.body.length}</Size><StorageClass>${o.storageClass ?? 'STANDARD'}</StorageClass></Contents>`);
        return send(200, { 'content-type': 'application/xml' }, xml(`<ListBucketResult><Name>${bucket}</Name><Prefix>${escapeXml(prefix)}</Prefix><KeyCount>${items.length}</KeyCount><IsTruncated>${truncated}</IsTruncated>${next}${items.join('')}</ListBucketResult>`));
      }
      return fail(405, 'MethodNotAllowed');
    }

    switch (request.method) {
      case 'PUT': {
        if (q.has('uploadId')) {
          const upload = uploads.get(q.get('uploadId')!);
          if (!upload) return fail(404, 'NoSuchUpload');
          upload.parts.set(Number(q.get('partNumber')), body);
          return send(200, { etag: `"part-${q.get('partNumber')}"`, 'x-amz-checksum-crc32c': String(request.headers['x-amz-checksum-crc32c'] ?? '') });
        }
        if (conditionFails) return fail(412, 'PreconditionFailed');
        return send(200, { etag: store(body, metadataOf(), storageClassHeader).etag });
      }
      case 'POST': {
        if (q.has('uploads')) {
          const uploadId = randomUUID();
          uploads.set(uploadId, { key: id, parts: new Map(), metadata: metadataOf(), storageClass: storageClassHeader, initiated: new Date() });
          return send(200, { 'content-type': 'application/xml' }, xml(`<InitiateMultipartUploadResult><Bucket>${bucket}</Bucket><Key>${escapeXml(key)}</Key><UploadId>${uploadId}</UploadId></InitiateMultipartUploadResult>`));
        }
        const uploadId = q.get('uploadId') ?? '';
        const upload = uploads.get(uploadId);
        if (!upload) return fail(404, 'NoSuchUpload');
        if (conditionFails) return fail(412, 'PreconditionFailed');
        const numbers = [...body.toString('utf8').matchAll(/<PartNumber>(\d+)<\/PartNumber>/g)].map((m) => Number(m[1]));
        const object = store(Buffer.concat(numbers.map((n) => upload.parts.get(n) ?? Buffer.alloc(0))), upload.metadata, upload.storageClass);
        uploads.delete(uploadId);
        return send(200, { 'content-type': 'application/xml' }, xml(`<CompleteMultipartUploadResult><Bucket>${bucket}</Bucket><Key>${escapeXml(key)}</Key><ETag>${escapeXml(object.etag)}</ETag></CompleteMultipartUploadResult>`));
      }
      case 'DELETE': {
        if (q.has('uploadId')) return uploads.delete(q.get('uploadId')!) ? send(204) : fail(404, 'NoSuchUpload');
        objects.delete(id);
        return send(204);
      }
      case 'HEAD':
      case 'GET': {
        const throttle = stub.imperfections.throttleGets;
        if (request.method === 'GET' && throttle && throttle.times > 0) {
          throttle.times--;
          const answer = s3ErrorAnswer(503, 'SlowDown');
          return send(answer.status, { ...answer.headers, 'retry-after': String(throttle.retryAfterSeconds) }, answer.body);
        }
        const object = objects.get(id);
        if (!object) return request.method === 'HEAD' ? send(404) : fail(404, 'NoSuchKey');
        const headers: Record<string, string> = { etag: object.etag, 'last-modified': object.lastModified.toUTCString(), 'content-type': 'application/octet-stream', ...object.metadata };
        if (object.crc32c) Object.assign(headers, { 'x-amz-checksum-crc32c': object.crc32c, 'x-amz-checksum-type': 'FULL_OBJECT' });
        // As S3 does: the header is left out for the default class.
        if (object.storageClass && object.storageClass !== 'STANDARD') headers['x-amz-storage-class'] = object.storageClass;
        const range = /^bytes=(\d+)-(\d*)$/.exec(String(request.headers.range ?? ''));
        if (request.method === 'HEAD' || !range || stub.imperfections.ignoreRange) return send(200, headers, object.body);
        const start = Number(range[1]);
        const size = object.body.length;
        if (start >= size) {
          switch (stub.imperfections.rangePastEnd) {
            case 'empty-200':
              return send(200, headers, Buffer.alloc(0));
            case 'whole-200':
              return send(200, headers, object.body);
            case 'empty-206':
              return send(206, { ...headers, 'content-range': `bytes */${size}` }, Buffer.alloc(0));
            default:
              return fail(416, 'InvalidRange');
          }
        }
        const end = Math.min(range[2] === '' ? size - 1 : Number(range[2]), size - 1);
        return send(206, { ...headers, 'content-range': `bytes ${start}-${end}/${size}` }, object.body.subarray(start, end + 1));
      }
      default:
        return fail(405, 'MethodNotAllowed');
    }
  };

  const server = http.createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      response.destroy(error as Error);
    });
  });
  server.keepAliveTimeout = 1000;
  return { ...stub, ...(await listenOnLoopback(server)) };
}
