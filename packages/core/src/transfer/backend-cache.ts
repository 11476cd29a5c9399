import { createColdStore, type BackendTarget } from '../contracts/backend-provider.js';
import type { ColdStore } from '../contracts/cold-store.js';
import type { StoreContext } from '../store/store-context.js';

/**
 * The backends one worker thread has built, one per distinct `{ module, config }`, so that
 * clients (and their keep-alive sockets) are made once per thread and reused by every task.
 * Each is built through the same door as any other store (`createColdStore`), so it has the
 * full stack: retries, and metrics into the worker's registry.
 */
export class BackendCache {
  readonly #stores = new Map<string, Promise<ColdStore>>();

  constructor(private readonly context: StoreContext = {}) {}

  /** The store for `target`, built on first use; a failed build is not cached. */
  get(target: BackendTarget): Promise<ColdStore> {
    const id = targetId(target);
    let store = this.#stores.get(id);
    if (!store) {
      store = createColdStore(target, this.context);
      this.#stores.set(id, store);
      store.catch(() => this.#stores.delete(id));
    }
    return store;
  }

  /** Closes every store built so far; the cache is empty (and usable) afterwards. */
  async closeAll(): Promise<void> {
    const stores = [...this.#stores.values()];
    this.#stores.clear();
    await Promise.allSettled(stores.map(async (store) => (await store).close()));
  }
}

/** Same module, equal config and equal retry settings give the same id, whatever order their keys came in. */
function targetId(target: BackendTarget): string {
  return `${target.module}\n${JSON.stringify([target.config, target.retry ?? null], (_key, value: unknown) =>
    value !== null && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : value,
  )}`;
}
