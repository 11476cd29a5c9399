import { describe, expect, it } from 'vitest';
import { GCS_STORAGE_CLASSES, GcsColdStore, provider } from '@takhin/backend-gcs';
import { expectStorageClassApplied } from '@takhin/testkit';
import { ensureBucket, gcsServer, testConfig } from './gcs-subject.js';

describe('gcs: storage classes (one config key away)', () => {
  for (const storageClass of GCS_STORAGE_CLASSES.filter((c) => c !== 'STANDARD')) {
    it(`${storageClass} is applied on simple and resumable puts and reported by head`, async () => {
      const store = provider.create(testConfig(`class-${storageClass}`, { storageClass })) as GcsColdStore;
      await ensureBucket(store);
      await expectStorageClassApplied(store, storageClass).finally(() => store.close());
    });
  }

  it('an unknown class is a ConfigError naming the key', () => {
    expect(() => provider.parseConfig({ bucket: 'b', ...gcsServer(), storageClass: 'GLACIER_IR' })).toThrow(/storage\.tiered\.gcs\.storageClass.*"NEARLINE"/);
  });
});
