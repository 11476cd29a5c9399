import { provider, type AzureColdStore } from '@takhin/backend-azure';
import { describeTieringIntegration } from '@takhin/testkit';
import { testConfig } from './azure-subject.js';

// Archive, restore and evict through the same wiring a user has, on Azurite.
describeTieringIntegration('azure', {
  providers: [provider],
  async section(prefix) {
    const config = testConfig(prefix);
    const store = provider.create(config) as AzureColdStore;
    await store.driver.container.createIfNotExists();
    await store.close();
    return { backend: 'azure', azure: config };
  },
});
