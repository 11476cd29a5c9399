import { Client } from 'minio';
import { MinioColdStore, parseMinioConfig, type MinioConfig } from '@takhin/backend-minio';
import { requireServiceEnv } from '@takhin/testkit';

/** The shared MinIO from `scripts/services` (a missing server fails, never skips). */
export function minioConfig(overrides: Record<string, unknown> = {}): MinioConfig {
  const env = requireServiceEnv('minio', ['TAKHIN_MINIO_ENDPOINT', 'TAKHIN_MINIO_ACCESS_KEY', 'TAKHIN_MINIO_SECRET_KEY', 'TAKHIN_MINIO_REGION']);
  return parseMinioConfig({
    endpoint: env.TAKHIN_MINIO_ENDPOINT,
    accessKey: env.TAKHIN_MINIO_ACCESS_KEY,
    secretKey: env.TAKHIN_MINIO_SECRET_KEY,
    region: env.TAKHIN_MINIO_REGION,
    bucket: 'takhin-minio-tests',
    // The protocol's smallest part and a queue of 4, so part boundaries and the memory bound mean something.
    partSizeMb: 5,
    queueSize: 4,
    ...overrides,
  });
}

/** A raw minio client on the same server, for checks the store does not offer. */
export function rawClient(config: MinioConfig): Client {
  const url = new URL(config.endpoint);
  return new Client({
    endPoint: url.hostname,
    port: Number(url.port),
    useSSL: url.protocol === 'https:',
    accessKey: config.accessKey,
    secretKey: config.secretKey,
    region: config.region,
    pathStyle: true,
  });
}

export async function ensureBucket(client: Client, bucket: string): Promise<void> {
  if (!(await client.bucketExists(bucket))) await client.makeBucket(bucket);
}

/**
 * Key and id of each multipart upload still open under `prefix`. MinIO lists uploads only for
 * a whole bucket or one exact key (a partial prefix lists nothing), so: all, then filtered.
 */
export async function openUploads(client: Client, bucket: string, prefix: string): Promise<string[]> {
  const open: string[] = [];
  let [keyMarker, uploadIdMarker] = ['', ''];
  do {
    const page = await client.listIncompleteUploadsQuery(bucket, '', keyMarker, uploadIdMarker, '');
    for (const upload of page.uploads) if (upload.key.startsWith(prefix)) open.push(`${upload.key} ${upload.uploadId}`);
    [keyMarker, uploadIdMarker] = page.isTruncated ? [page.nextKeyMarker, page.nextUploadIdMarker] : ['', ''];
  } while (keyMarker !== '');
  return open;
}

/** Aborts what a test left open, then deletes every object the store holds. */
export async function removeEverything(store: MinioColdStore, client: Client, config: MinioConfig): Promise<void> {
  for (const upload of await openUploads(client, config.bucket, `${config.prefix}/`)) {
    const [key, uploadId] = upload.split(' ') as [string, string];
    await client.abortMultipartUpload(config.bucket, key, uploadId);
  }
  const keys: string[] = [];
  for await (const object of store.list('')) keys.push(object.key);
  if (keys.length > 0) await store.delete(keys);
}
