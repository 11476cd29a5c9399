import { CreateBucketCommand, CreateMultipartUploadCommand, ListMultipartUploadsCommand, S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { parseS3Config, provider, S3ColdStore, type S3Config } from '@takhin/backend-s3';
import type { S3FamilyBackend, S3Server, S3ServerInspector } from '@takhin/testkit';

/** The S3 backend as the S3-family suites build it: its config keys, and the AWS SDK as raw client. */
export const s3Family: S3FamilyBackend<S3Config> = {
  module: provider.module!,
  config: ({ accessKey, secretKey, ...settings }) =>
    parseS3Config({ ...settings, accessKeyId: accessKey, secretAccessKey: secretKey, forcePathStyle: true }),
  createStore: (config, context) => new S3ColdStore(config, context),
  inspect: (server) => new SdkInspector(server),
};

/** A raw SDK client on the same server, for checks the store does not offer. */
class SdkInspector implements S3ServerInspector {
  readonly #client: S3Client;

  constructor(server: S3Server) {
    this.#client = new S3Client({
      region: server.region,
      endpoint: server.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: server.accessKey, secretAccessKey: server.secretKey },
    });
  }

  async createBucket(bucket: string): Promise<void> {
    try {
      await this.#client.send(new CreateBucketCommand({ Bucket: bucket }));
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw error;
    }
  }

  /** MinIO lists uploads only for a whole bucket or one exact key (a partial `Prefix` lists nothing), so: all, then filtered. */
  async openUploads(bucket: string, prefix: string): Promise<string[]> {
    const open: string[] = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      const page = await this.#client.send(new ListMultipartUploadsCommand({ Bucket: bucket, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }));
      for (const upload of page.Uploads ?? []) if (upload.Key?.startsWith(prefix)) open.push(`${upload.Key} ${upload.UploadId}`);
      [keyMarker, uploadIdMarker] = page.IsTruncated ? [page.NextKeyMarker, page.NextUploadIdMarker] : [undefined, undefined];
    } while (keyMarker !== undefined);
    return open;
  }

  async leaveUploadOpen(bucket: string, key: string, firstPart: Uint8Array): Promise<void> {
    const { UploadId } = await this.#client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
    await this.#client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: 1, Body: firstPart }));
  }

  close(): void {
    this.#client.destroy();
  }
}
