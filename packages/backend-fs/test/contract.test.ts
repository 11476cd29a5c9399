import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsColdStore, provider } from '@takhin/backend-fs';
import { describeColdStoreContract } from '@takhin/testkit';

describeColdStoreContract('fs', async ({ prefix }) => {
  const base = await mkdtemp(join(tmpdir(), 'takhin-fs-contract-'));
  const root = join(base, prefix);
  const store = new FsColdStore(provider.parseConfig({ root }));
  // A root below a regular file: every filesystem call the store makes fails.
  const blocker = join(base, 'not-a-folder');
  await writeFile(blocker, 'x');
  return {
    store,
    listPendingUploads: async () => (await store.openUploads()).map((upload) => upload.id),
    createUnreachableStore: () => new FsColdStore({ root: join(blocker, 'root') }),
    target: { module: provider.module!, config: { root } },
    readsInto: true,
    cleanup: () => rm(base, { recursive: true, force: true }),
  };
});

