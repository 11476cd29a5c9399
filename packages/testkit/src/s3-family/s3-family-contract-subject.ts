import { closedPort } from '../network/closed-port.js';
import type { ContractSubjectFactory } from '../contract/subject.js';
import type { S3FamilyBackend } from './s3-family-backend.js';
import { sharedMinioSettings } from './shared-minio-settings.js';
import { emptyStore } from '../contract/empty-store.js';

/**
 * The ColdStore contract subject of an S3-family backend on the shared MinIO: the store the
 * behaviour suite builds, with the backend's raw client listing its open uploads.
 */
export function s3FamilyContractSubject<Config>(name: string, backend: S3FamilyBackend<Config>): ContractSubjectFactory {
  return async ({ prefix }) => {
    const settings = sharedMinioSettings(name, { prefix });
    const inspector = backend.inspect(settings);
    await inspector.createBucket(settings.bucket);
    const config = backend.config(settings);
    const store = backend.createStore(config);
    const deadPort = await closedPort();
    return {
      store,
      listPendingUploads: () => inspector.openUploads(settings.bucket, `${prefix}/`),
      createUnreachableStore: () => backend.createStore(backend.config({ ...settings, endpoint: `http://127.0.0.1:${deadPort}` })),
      target: { module: backend.module, config },
      readsInto: true,
      cleanup: async () => {
        // What a case left open, then every object the store holds.
        await store.abortStaleUploads(0);
        await emptyStore(store);
        await store.close();
        inspector.close?.();
      },
    };
  };
}
