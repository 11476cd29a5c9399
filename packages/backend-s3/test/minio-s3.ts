import { AbortMultipartUploadCommand, CreateBucketCommand, ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { parseS3Config, S3ColdStore, type S3Config } from '@takhin/backend-s3';
import { requireServiceEnv } from '@takhin/testkit';

/** The shared MinIO from `scripts/services`, as S3 config (a missing server fails, never skips). */
export function minioS3Config(overrides: Record<string, unknown> = {}): S3Config {
  const env = requireServiceEnv('minio', ['TAKHIN_MINIO_ENDPOINT', 'TAKHIN_MINIO_ACCESS_KEY', 'TAKHIN_MINIO_SECRET_KEY', 'TAKHIN_MINIO_REGION']);
  return parseS3Config({
    bucket: 'takhin-s3-tests',
    region: env.TAKHIN_MINIO_REGION,
    endpoint: env.TAKHIN_MINIO_ENDPOINT,
    forcePathStyle: true,
    accessKeyId: env.TAKHIN_MINIO_ACCESS_KEY,
    secretAccessKey: env.TAKHIN_MINIO_SECRET_KEY,
    // S3's smallest part and a queue of 4, so part boundaries and the memory bound mean something.
    partSizeMb: 5,
    queueSize: 4,
    ...overrides,
  });
}

/** A raw SDK client on the same server, for checks the store does not offer. */
export function rawClient(config: S3Config): S3Client {
  return new S3Client({
    region: config.region,
    endpoint: config.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: config.accessKeyId!, secretAccessKey: config.secretAccessKey! },
  });
}

export async function ensureBucket(client: S3Client, bucket: string): Promise<void> {
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw error;
  }
}

/**
 * Key and id of each multipart upload still open under `prefix`. MinIO lists uploads only for
 * a whole bucket or one exact key (a partial `Prefix` lists nothing), so: all, then filtered.
 */
export async function openUploads(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const open: string[] = [];
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  do {
    const page = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }));
    for (const upload of page.Uploads ?? []) if (upload.Key?.startsWith(prefix)) open.push(`${upload.Key} ${upload.UploadId}`);
    [keyMarker, uploadIdMarker] = page.IsTruncated ? [page.NextKeyMarker, page.NextUploadIdMarker] : [undefined, undefined];
  } while (keyMarker !== undefined);
  return open;
}

/** Aborts what a test left open, then deletes every object the store holds. */
export async function removeEverything(store: S3ColdStore, client: S3Client, config: S3Config): Promise<void> {
  for (const upload of await openUploads(client, config.bucket, `${config.prefix}/`)) {
    const [Key, UploadId] = upload.split(' ');
    await client.send(new AbortMultipartUploadCommand({ Bucket: config.bucket, Key, UploadId }));
  }
  const keys: string[] = [];
  for await (const object of store.list('')) keys.push(object.key);
  if (keys.length > 0) await store.delete(keys);
}
