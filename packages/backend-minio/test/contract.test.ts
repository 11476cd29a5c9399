import { MinioColdStore, provider } from '@takhin/backend-minio';
import { closedPort, describeColdStoreContract } from '@takhin/testkit';
import { ensureBucket, minioConfig, openUploads, rawClient, removeEverything } from './minio-server.js';

describeColdStoreContract(
  'minio',
  async ({ prefix }) => {
    const config = minioConfig({ prefix });
    const client = rawClient(config);
    await ensureBucket(client, config.bucket);
    const store = new MinioColdStore(config);
    const deadPort = await closedPort();
    return {
      store,
      partSize: store.partSize,
      memoryBoundBytes: store.partSize * store.queueSize,
      listPendingUploads: () => openUploads(client, config.bucket, `${prefix}/`),
        createUnreachableStore: () => new MinioColdStore({ ...config, endpoint: `http://127.0.0.1:${deadPort}` }),
      target: { module: provider.module!, config },
      cleanup: async () => {
        await removeEverything(store, client, config);
        await store.close();
      },
    };
  },
);
