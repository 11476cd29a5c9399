import { createHash, createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import type { ObjectRead, SignedRead } from '../driver/cold-store-driver.js';
import { httpRangeHeader } from '../ranges/byte-range.js';

/** Where an S3-protocol server is and who asks: what signing a read needs. */
export interface S3ReadTarget {
  /** The endpoint's origin, `http://127.0.0.1:9000`. */
  endpoint: string;
  /** `endpoint/bucket/name` when true; `bucket.host/name` otherwise. */
  pathStyle: boolean;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
}

/**
 * A GetObject signed with AWS Signature Version 4 in its headers (unsigned payload, as every
 * GET), for core to send itself (docs/ARCHITECTURE.md, "Plain reads"). `undefined` for an
 * `https:` endpoint: core's lean client speaks plain HTTP only.
 */
export function signS3Read(target: S3ReadTarget, { name, range }: Pick<ObjectRead, 'name' | 'range'>, now = new Date()): SignedRead | undefined {
  const endpoint = new URL(target.endpoint);
  if (endpoint.protocol !== 'http:' || endpoint.pathname !== '/') return undefined;
  const host = target.pathStyle ? endpoint.host : `${target.bucket}.${endpoint.host}`;
  const path = `${target.pathStyle ? `/${uriEncode(target.bucket)}` : ''}/${name.split('/').map(uriEncode).join('/')}`;
  const amzDate = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const headers: Record<string, string> = { host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'x-amz-date': amzDate };
  if (range) headers.range = httpRangeHeader(range);
  if (target.sessionToken !== undefined) headers['x-amz-security-token'] = target.sessionToken;
  const names = Object.keys(headers).sort();
  const signedHeaders = names.join(';');
  const canonical = ['GET', path, '', ...names.map((header) => `${header}:${headers[header]}`), '', signedHeaders, 'UNSIGNED-PAYLOAD'].join('\n');
  const scope = `${day}/${target.region}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
  const key = signingKey(target.secretAccessKey, day, target.region);
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${target.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  delete headers.host;
  return { url: `http://${host}${path}`, headers };
}

const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();

/** The last signing key derived: it changes only with the day (or the secret, or the region). */
let lastKey: { secret: string; day: string; region: string; key: KeyObject } | undefined;

/**
 * SigV4's signing key: four HMACs, derived once a day rather than for every read, and kept as a
 * `KeyObject`. Node 24's `createHmac` given a Buffer key captures a stack trace while checking
 * what kind of key it is: 9.8 µs an HMAC against 1.3 µs with a KeyObject, more deep in a
 * worker's async stack.
 */
function signingKey(secret: string, day: string, region: string): KeyObject {
  if (lastKey?.secret === secret && lastKey.day === day && lastKey.region === region) return lastKey.key;
  let key: Buffer = hmac(`AWS4${secret}`, day);
  for (const part of [region, 's3', 'aws4_request']) key = hmac(key, part);
  lastKey = { secret, day, region, key: createSecretKey(key) };
  return lastKey.key;
}

/** RFC 3986 encoding as SigV4 wants it: everything but `A-Za-z0-9-._~` escaped. */
function uriEncode(segment: string): string {
  return encodeURIComponent(segment).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}
