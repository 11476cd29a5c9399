import { describe, expect, it } from 'vitest';
import { AZURE_ACCESS_TIERS, AzureColdStore, provider } from '@takhin/backend-azure';
import { expectStorageClassApplied } from '@takhin/testkit';
import { azurite, testConfig } from './azure-subject.js';

describe('azure: access tiers (the storageClass key)', () => {
  for (const tier of AZURE_ACCESS_TIERS) {
    it(`${tier} is applied on single and staged puts and reported by head`, async () => {
      const store = provider.create(testConfig(`tier-${tier}`, { storageClass: tier })) as AzureColdStore;
      await store.driver.container.createIfNotExists();
      await expectStorageClassApplied(store, tier).finally(() => store.close());
    });
  }

  it('Archive (rehydrated for hours before each read) and unknown tiers are ConfigErrors naming the key', () => {
    const { connectionString } = azurite();
    expect(() => provider.parseConfig({ container: 'c', connectionString, storageClass: 'Archive' })).toThrow(/storage\.tiered\.azure\.storageClass.*rehydrated/);
    expect(() => provider.parseConfig({ container: 'c', connectionString, storageClass: 'cool' })).toThrow(/storage\.tiered\.azure\.storageClass/);
  });
});
