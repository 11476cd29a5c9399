import { expect } from 'vitest';
import { ColdStoreError, ConfigError, type ColdStore, type ColdStoreErrorCode } from '@takhin/core';
import { patternedStream } from '../bodies/patterned-body.js';

/** Awaits a promise that must reject with a ColdStoreError of `code`, and returns the error. */
export async function expectCode(promise: Promise<unknown>, code: ColdStoreErrorCode): Promise<ColdStoreError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected a ColdStoreError ${code}`).toBeInstanceOf(ColdStoreError);
  expect((caught as ColdStoreError).code, (caught as Error).message).toBe(code);
  return caught as ColdStoreError;
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

/** The key path named by the ConfigError `parse` throws for `raw`; any other outcome fails. */
export function configErrorPath(parse: (raw: unknown) => unknown, raw: unknown): string {
  try {
    parse(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).path;
  }
  throw new Error('expected a ConfigError');
}

/**
 * Puts one object in a single request and one as a multipart write through `store` (configured
 * with a storage class), and checks that both put results and heads report `storageClass`.
 */
export async function expectStorageClassApplied(store: ColdStore, storageClass: string): Promise<void> {
  const size = (store.capabilities.partSize ?? 8 * 1024 * 1024) + 10;
  expect((await store.put('storage-class/single', Buffer.from('cold'))).storageClass).toBe(storageClass);
  expect((await store.put('storage-class/multipart', patternedStream(size, 8), { size })).storageClass).toBe(storageClass);
  for (const key of ['storage-class/single', 'storage-class/multipart']) expect((await store.head(key))?.storageClass, key).toBe(storageClass);
  await store.delete(['storage-class/single', 'storage-class/multipart']);
}

/** Runs `work` over `items`, at most `limit` at a time. */
export async function runConcurrently<T>(items: readonly T[], limit: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(lanes);
}
