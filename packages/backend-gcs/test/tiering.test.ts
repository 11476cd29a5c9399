import { provider, type GcsColdStore } from '@takhin/backend-gcs';
import { describeTieringIntegration } from '@takhin/testkit';
import { ensureBucket, testConfig } from './gcs-subject.js';

// Archive, restore and evict through the same wiring a user has, on fake-gcs-server.
describeTieringIntegration('gcs', {
  providers: [provider],
  async section(prefix) {
    const config = testConfig(prefix);
    const store = provider.create(config) as GcsColdStore;
    await ensureBucket(store);
    await store.close();
    return { backend: 'gcs', gcs: config };
  },
});
