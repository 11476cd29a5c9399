import { AzureColdStore, provider, type AzureConfig } from '@takhin/backend-azure';
import { closedPort, emptyStore, requireServiceEnv, type ContractSubject } from '@takhin/testkit';

export const TEST_CONTAINER = 'takhin-contract';

/** The running Azurite, from `.services/env`; fails (never skips) when it is not up. */
export function azurite() {
  const env = requireServiceEnv('azurite', [
    'TAKHIN_AZURITE_BLOB_ENDPOINT',
    'TAKHIN_AZURITE_ACCOUNT_NAME',
    'TAKHIN_AZURITE_ACCOUNT_KEY',
    'TAKHIN_AZURITE_CONNECTION_STRING',
  ]);
  return {
    accountUrl: env.TAKHIN_AZURITE_BLOB_ENDPOINT,
    accountName: env.TAKHIN_AZURITE_ACCOUNT_NAME,
    accountKey: env.TAKHIN_AZURITE_ACCOUNT_KEY,
    connectionString: env.TAKHIN_AZURITE_CONNECTION_STRING,
  };
}

/** Small blocks so block boundaries and the 64 MiB memory case mean something. */
export function testConfig(prefix: string, overrides: Record<string, unknown> = {}): AzureConfig {
  return provider.parseConfig({ container: TEST_CONTAINER, prefix, connectionString: azurite().connectionString, blockSizeMb: 1, concurrency: 4, ...overrides });
}

export async function createAzureSubject(prefix: string): Promise<ContractSubject> {
  const config = testConfig(prefix);
  const store = provider.create(config) as AzureColdStore;
  await store.driver.container.createIfNotExists();
  const server = azurite();
  const deadPort = await closedPort();
  const deadConfig = provider.parseConfig({
    container: TEST_CONTAINER,
    prefix,
    accountUrl: server.accountUrl.replace(/:\d+\//, `:${deadPort}/`),
    accountName: server.accountName,
    accountKey: server.accountKey,
  });
  return {
    store,
    listPendingUploads: async () => (await store.openUploads()).map((upload) => upload.name),
    createUnreachableStore: () => provider.create(deadConfig),
    target: { module: provider.module!, config },
    readsInto: true,
    async cleanup() {
      await emptyStore(store);
      await store.close();
    },
  };
}
