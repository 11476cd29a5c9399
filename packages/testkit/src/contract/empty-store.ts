import type { ColdStore } from '@takhin/core';

/** Deletes every object the store can list under its prefix (a suite's leftovers), in batches. */
export async function emptyStore(store: ColdStore): Promise<void> {
  let batch: string[] = [];
  for await (const object of store.list('')) {
    batch.push(object.key);
    if (batch.length === store.capabilities.maxDeleteBatch) {
      await store.delete(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await store.delete(batch);
}
