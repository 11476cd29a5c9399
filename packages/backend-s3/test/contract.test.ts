import { provider, S3ColdStore } from '@takhin/backend-s3';
import { closedPort, describeColdStoreContract } from '@takhin/testkit';
import { ensureBucket, minioS3Config, openUploads, rawClient, removeEverything } from './minio-s3.js';

describeColdStoreContract('s3', async ({ prefix }) => {
  const config = minioS3Config({ prefix });
  const client = rawClient(config);
  await ensureBucket(client, config.bucket);
  const store = new S3ColdStore(config);
  const deadPort = await closedPort();
  return {
    store,
    partSize: store.partSize,
    memoryBoundBytes: store.partSize * store.queueSize,
    listPendingUploads: () => openUploads(client, config.bucket, `${prefix}/`),
    createUnreachableStore: () => new S3ColdStore({ ...config, endpoint: `http://127.0.0.1:${deadPort}` }),
    target: { module: provider.module!, config },
    cleanup: async () => {
      await removeEverything(store, client, config);
      await store.close();
      client.destroy();
    },
  };
});
