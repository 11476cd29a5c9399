import type { Readable } from 'node:stream';
import type { ColdStore, DeleteOptions, GetOptions, HeadOptions, ListOptions, ObjectDescription, PutBody, PutOptions } from '../contracts/cold-store.js';
import { DEFAULT_RETRY_POLICY, retrying, type RetryPolicy } from './retry-policy.js';

/**
 * The retry layer for a ColdStore not built on a driver (a third party's; see
 * docs/ARCHITECTURE.md, "Layers"): around any ColdStore, so no backend
 * carries its own retry loop. A streamed put is attempted once — its bytes cannot be read
 * twice — while byte-array puts and every read are retried.
 */
export class RetryingColdStore implements ColdStore {
  readonly policy: RetryPolicy;

  constructor(
    readonly inner: ColdStore,
    policy: Partial<RetryPolicy> = {},
  ) {
    this.policy = { ...DEFAULT_RETRY_POLICY, ...policy };
  }

  get backend(): string {
    return this.inner.backend;
  }

  get capabilities() {
    return this.inner.capabilities;
  }

  put(key: string, body: PutBody, options?: PutOptions): Promise<ObjectDescription> {
    if (!(body instanceof Uint8Array)) return this.inner.put(key, body, options);
    return retrying(this.policy, 'put', key, options?.signal, () => this.inner.put(key, body, options));
  }

  get(key: string, options?: GetOptions): Promise<Readable> {
    return retrying(this.policy, 'get', key, options?.signal, () => this.inner.get(key, options));
  }

  head(key: string, options?: HeadOptions): Promise<ObjectDescription | null> {
    return retrying(this.policy, 'head', key, options?.signal, () => this.inner.head(key, options));
  }

  delete(keys: string | readonly string[], options?: DeleteOptions): Promise<void> {
    const key = typeof keys === 'string' ? keys : undefined;
    return retrying(this.policy, 'delete', key, options?.signal, () => this.inner.delete(keys, options));
  }

  /** Retries a listing that fails before its first object; later failures surface. */
  async *list(prefix: string, options?: ListOptions): AsyncIterable<ObjectDescription> {
    const iterator = await retrying(this.policy, 'list', prefix, options?.signal, async () => {
      const it = this.inner.list(prefix, options)[Symbol.asyncIterator]();
      const first = await it.next();
      return { it, first };
    });
    for (let step = iterator.first; !step.done; step = await iterator.it.next()) yield step.value;
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

export function withRetry(store: ColdStore, policy?: Partial<RetryPolicy>): ColdStore {
  return store instanceof RetryingColdStore ? store : new RetryingColdStore(store, policy);
}
