import type { UploadedPart } from '@takhin/core';

const escapeXml = (text: string) => text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The CompleteMultipartUpload request body, with each part's CRC32C (the server checks them
 * and derives the full-object CRC32C it compares with the one in the request header). The
 * minio client's own completion sends neither these nor If-None-Match.
 */
export function completeMultipartBody(parts: readonly UploadedPart[]): string {
  const items = parts.map(
    (part) =>
      `<Part><PartNumber>${part.number}</PartNumber><ETag>${escapeXml(part.etag ?? '')}</ETag>` +
      `<ChecksumCRC32C>${escapeXml(part.crc32c)}</ChecksumCRC32C></Part>`,
  );
  return `<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${items.join('')}</CompleteMultipartUpload>`;
}

/**
 * The failure inside a CompleteMultipartUpload answer, or `undefined`: the protocol may reply
 * 200 and report the error in the body (after the server spent a while assembling parts).
 */
export function completeMultipartError(body: string): Error | undefined {
  if (!/<Error>/.test(body)) return undefined;
  const code = /<Code>([^<]*)<\/Code>/.exec(body)?.[1] ?? 'InternalError';
  const message = /<Message>([^<]*)<\/Message>/.exec(body)?.[1] ?? 'CompleteMultipartUpload failed';
  return Object.assign(new Error(message), { name: 'S3Error', code });
}
