import { randomUUID } from 'node:crypto';
import { readJson, type GcsHttp } from './gcs-http.js';
import type { ObjectResource } from './object-resource.js';

export interface SimpleUpload {
  bucket: string;
  /** The object resource; its `crc32c` is verified by GCS against the bytes it receives. */
  resource: ObjectResource & { name: string; contentType?: string; crc32c: string };
  bytes: Buffer;
  ifGenerationMatch?: number | undefined;
}

/**
 * Uploads a small object in one `uploadType=multipart` request: metadata (with the CRC32C)
 * and bytes together, so the object is created complete and verified, or not at all. The
 * bytes are written as they are, between the two framing pieces, never copied.
 */
export async function uploadSimple(http: GcsHttp, upload: SimpleUpload): Promise<ObjectResource> {
  const boundary = `takhin-${randomUUID()}`;
  const body = [
    Buffer.from(
      `--${boundary}\r\ncontent-type: application/json; charset=UTF-8\r\n\r\n${JSON.stringify(upload.resource)}\r\n` +
        `--${boundary}\r\ncontent-type: application/octet-stream\r\n\r\n`,
    ),
    upload.bytes,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ];
  const url = http.uploadUrl(upload.bucket, {
    uploadType: 'multipart',
    ifGenerationMatch: upload.ifGenerationMatch === undefined ? undefined : String(upload.ifGenerationMatch),
  });
  const response = await http.request(url, { method: 'POST', headers: { 'content-type': `multipart/related; boundary=${boundary}` }, body }, [200, 201]);
  return readJson<ObjectResource>(response);
}
