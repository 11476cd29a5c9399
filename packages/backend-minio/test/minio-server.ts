import { Client } from 'minio';
import { MinioColdStore, parseMinioConfig, provider, type MinioConfig } from '@takhin/backend-minio';
import type { S3FamilyBackend, S3Server, S3ServerInspector } from '@takhin/testkit';

/** The MinIO backend as the S3-family suites build it: its config keys, and a raw minio client. */
export const minioFamily: S3FamilyBackend<MinioConfig> = {
  module: provider.module!,
  // The neutral settings are already this backend's config keys.
  config: (settings) => parseMinioConfig(settings),
  createStore: (config, context) => new MinioColdStore(config, context),
  inspect: (server) => new MinioClientInspector(server),
};

/** A raw minio client on the same server, for checks the store does not offer. */
class MinioClientInspector implements S3ServerInspector {
  readonly #client: Client;

  constructor(server: S3Server) {
    const url = new URL(server.endpoint);
    this.#client = new Client({
      endPoint: url.hostname,
      port: Number(url.port),
      useSSL: url.protocol === 'https:',
      accessKey: server.accessKey,
      secretKey: server.secretKey,
      region: server.region,
      pathStyle: true,
    });
  }

  async createBucket(bucket: string): Promise<void> {
    if (!(await this.#client.bucketExists(bucket))) await this.#client.makeBucket(bucket);
  }

  /** MinIO lists uploads only for a whole bucket or one exact key (a partial prefix lists nothing), so: all, then filtered. */
  async openUploads(bucket: string, prefix: string): Promise<string[]> {
    const open: string[] = [];
    let [keyMarker, uploadIdMarker] = ['', ''];
    do {
      const page = await this.#client.listIncompleteUploadsQuery(bucket, '', keyMarker, uploadIdMarker, '');
      for (const upload of page.uploads) if (upload.key.startsWith(prefix)) open.push(`${upload.key} ${upload.uploadId}`);
      [keyMarker, uploadIdMarker] = page.isTruncated ? [page.nextKeyMarker, page.nextUploadIdMarker] : ['', ''];
    } while (keyMarker !== '');
    return open;
  }

  async leaveUploadOpen(bucket: string, key: string, firstPart: Uint8Array): Promise<void> {
    const uploadID = await this.#client.initiateNewMultipartUpload(bucket, key, {});
    await this.#client.uploadPart({ bucketName: bucket, objectName: key, uploadID, partNumber: 1, headers: {} }, Buffer.from(firstPart));
  }
}
