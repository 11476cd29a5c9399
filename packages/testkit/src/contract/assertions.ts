import { expect } from 'vitest';
import { ColdStoreError, ConfigError, type ColdStoreErrorCode } from '@takhin/core';

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
