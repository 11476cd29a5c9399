import type { Readable } from 'node:stream';
import type { ColdStore, DeleteOptions, GetOptions, HeadOptions, ListOptions, ObjectDescription, PutBody, PutOptions } from '../contracts/cold-store.js';
import { ColdStoreError } from '../errors/cold-store-error.js';
import type { StoreMetrics } from '../metrics/store-metrics.js';

/**
 * The metrics layer around a bare ColdStore (one not built on a driver): each operation is one
 * request for the metrics, and a put's size its bytes up. Stores built on a driver are counted
 * per request instead (see layers/metrics-layer.ts).
 */
export class MeteredColdStore implements ColdStore {
  constructor(
    readonly inner: ColdStore,
    readonly metrics: StoreMetrics,
  ) {}

  get backend(): string {
    return this.inner.backend;
  }

  get capabilities() {
    return this.inner.capabilities;
  }

  async put(key: string, body: PutBody, options?: PutOptions): Promise<ObjectDescription> {
    const stored = await this.#measure('put', () => this.inner.put(key, body, options));
    this.metrics.recordBytes(this.backend, 'up', stored.size);
    return stored;
  }

  get(key: string, options?: GetOptions): Promise<Readable> {
    return this.#measure('get', () => this.inner.get(key, options));
  }

  head(key: string, options?: HeadOptions): Promise<ObjectDescription | null> {
    return this.#measure('head', () => this.inner.head(key, options));
  }

  delete(keys: string | readonly string[], options?: DeleteOptions): Promise<void> {
    return this.#measure('delete', () => this.inner.delete(keys, options));
  }

  list(prefix: string, options?: ListOptions): AsyncIterable<ObjectDescription> {
    return this.inner.list(prefix, options);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  async #measure<T>(operation: string, run: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const result = await run();
      this.metrics.recordRequest(this.backend, operation, performance.now() - started);
      return result;
    } catch (error) {
      this.metrics.recordRequest(this.backend, operation, performance.now() - started, error instanceof ColdStoreError ? error.code : 'UNAVAILABLE');
      throw error;
    }
  }
}
