import { expect } from 'vitest';
import { ColdStoreError, type ColdStore } from '@takhin/core';
import { patternedStream } from '../bodies/patterned-body.js';
import type { TcpProxy } from './tcp-proxy.js';

/**
 * Puts a 32 MiB object through `direct`, reads it back through `viaProxy` (the same store
 * behind `proxy`), cuts the proxy once a MiB has arrived, and checks that the reader meets a
 * retryable UNAVAILABLE `ColdStoreError`, never a raw socket error or an AbortError.
 */
export async function expectResetMidGetIsUnavailable(direct: ColdStore, viaProxy: ColdStore, proxy: TcpProxy, key = 'reset-mid-get'): Promise<void> {
  const size = 32 * 1024 * 1024;
  await direct.put(key, patternedStream(size, 9), { size });
  try {
    const body = await viaProxy.get(key);
    let read = 0;
    let error: unknown = new Error('the whole body arrived: the reset came too late to prove anything');
    try {
      for await (const chunk of body) {
        read += (chunk as Buffer).length;
        if (read > 1024 * 1024) await proxy.cut();
      }
    } catch (caught) {
      error = caught;
    }
    expect(error, String(error)).toBeInstanceOf(ColdStoreError);
    expect((error as ColdStoreError).code).toBe('UNAVAILABLE');
    expect((error as ColdStoreError).retryable).toBe(true);
  } finally {
    await direct.delete(key);
  }
}
