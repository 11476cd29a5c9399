import { GcsColdStore, provider, type GcsConfig } from '@takhin/backend-gcs';
import { closedPort, emptyStore, requireServiceEnv, type ContractSubject } from '@takhin/testkit';

export const TEST_BUCKET = 'takhin-contract';

/** The running fake-gcs-server, from `.services/env`; fails (never skips) when it is not up. */
export function gcsServer() {
  const env = requireServiceEnv('gcs', ['TAKHIN_GCS_ENDPOINT', 'TAKHIN_GCS_PROJECT_ID']);
  return { endpoint: env.TAKHIN_GCS_ENDPOINT, projectId: env.TAKHIN_GCS_PROJECT_ID };
}

/** Small parts so part boundaries and the 64 MiB memory case mean something: 4 × 256 KiB. */
export function testConfig(prefix: string, overrides: Partial<GcsConfig> = {}): GcsConfig {
  return provider.parseConfig({ bucket: TEST_BUCKET, prefix, ...gcsServer(), chunkSizeMb: 1, ...overrides });
}

export async function ensureBucket(store: GcsColdStore, bucket = TEST_BUCKET): Promise<void> {
  const [exists] = await store.driver.storage.bucket(bucket).exists();
  if (!exists) await store.driver.storage.createBucket(bucket).catch((error: { code?: number }) => {
    if (error.code !== 409) throw error; // a parallel suite created it first
  });
}

export async function createGcsSubject(prefix: string): Promise<ContractSubject> {
  const config = testConfig(prefix);
  const store = provider.create(config) as GcsColdStore;
  await ensureBucket(store);
  const deadPort = await closedPort();
  return {
    store,
    listPendingUploads: async () => (await store.openUploads()).map((upload) => upload.id),
    createUnreachableStore: () => provider.create({ ...config, endpoint: `http://127.0.0.1:${deadPort}` }),
    target: { module: provider.module!, config },
    readsInto: true,
    async cleanup() {
      await emptyStore(store);
      await store.close();
    },
  };
}
