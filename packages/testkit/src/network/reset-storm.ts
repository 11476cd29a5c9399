import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { checksumBytes, DriverColdStore, type ColdStore } from '@takhin/core';
import { checksumStream } from '../bodies/patterned-body.js';
import type { TcpProxy } from './tcp-proxy.js';

/**
 * The proxy options for `expectConcurrentPutsSurviveResets`: every third of the first 32
 * connections is reset mid-request, later ones (the retries) pass, so each put needs at most
 * one retry and the case cannot flake on a run of unlucky resets.
 */
export const RESET_EVERY_THIRD_OF_32 = { resetConnection: (ordinal: number) => ordinal <= 32 && ordinal % 3 === 0 };

/**
 * 32 concurrent puts through `store`, which talks to its server through `proxy` (made with
 * `RESET_EVERY_THIRD_OF_32`): every put lands and reads back whole, resets happened, and the
 * store counted them as UNAVAILABLE failures it retried.
 */
export async function expectConcurrentPutsSurviveResets(store: ColdStore, proxy: TcpProxy, prefix = 'reset-storm'): Promise<void> {
  const items = Array.from({ length: 32 }, (_, i) => ({ key: `${prefix}/${i}`, bytes: randomBytes(64 * 1024 + i) }));
  await Promise.all(items.map(({ key, bytes }) => store.put(key, bytes)));
  expect(proxy.resets, 'the proxy reset connections mid-request').toBeGreaterThan(0);
  for (const { key, bytes } of items) expect(await checksumStream(await store.get(key))).toEqual({ size: bytes.length, checksums: checksumBytes(bytes) });
  expect(store, 'a store built by its provider is core’s full stack').toBeInstanceOf(DriverColdStore);
  const failures = (store as DriverColdStore).metrics;
  const snapshot = 'snapshot' in failures ? (failures as { snapshot(): { requests: Array<{ errors: Record<string, number> }> } }).snapshot() : undefined;
  const unavailable = snapshot?.requests.reduce((sum, series) => sum + (series.errors.UNAVAILABLE ?? 0), 0) ?? 0;
  expect(unavailable, 'resets counted as UNAVAILABLE attempts, then retried').toBeGreaterThanOrEqual(proxy.resets);
  await store.delete(items.map(({ key }) => key));
}
