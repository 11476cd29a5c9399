import { describe, expect, it } from 'vitest';
import { ColdStoreError, ConfigError, notFound, reviveTransferError, serializeTransferError, toPoolError } from '@takhin/core';

describe('transfer errors across a thread boundary', () => {
  it('rebuild a ColdStoreError with its code, backend, key, retryability and the worker-side stack', () => {
    const original = notFound('s3', 'segments/a.log', new Error('NoSuchKey'));
    const revived = reviveTransferError(structuredClone(serializeTransferError(original)));
    expect(revived).toBeInstanceOf(ColdStoreError);
    expect(revived).toMatchObject({ code: 'NOT_FOUND', backend: 's3', key: 'segments/a.log', retryable: false });
    expect(revived.message).toBe(original.message);
    expect(revived.stack).toBe(original.stack);
    expect(String((revived as ColdStoreError).cause)).toContain('NoSuchKey');
  });

  it('rebuild a ConfigError with its path and message', () => {
    const original = new ConfigError('storage.tiered.s3.bucket', 'is required');
    const revived = reviveTransferError(structuredClone(serializeTransferError(original)));
    expect(revived).toBeInstanceOf(ConfigError);
    expect(revived).toMatchObject({ path: 'storage.tiered.s3.bucket', message: original.message });
  });

  it('turn anything else into a non-retryable UNAVAILABLE naming it: no raw error reaches a caller', () => {
    const raw = Object.assign(new TypeError('cannot read properties of undefined'), { code: 'ERR_SOMETHING' });
    const mapped = toPoolError(raw, 'transfer-pool', 'k');
    expect(mapped).toBeInstanceOf(ColdStoreError);
    expect(mapped).toMatchObject({ code: 'UNAVAILABLE', retryable: false, key: 'k' });
    expect(mapped.message).toContain('TypeError: cannot read properties of undefined');
    expect(toPoolError('boom', 'transfer-pool', undefined).message).toContain('boom');
  });

  it('report an error after an abort as ABORTED', () => {
    expect(toPoolError(new Error('socket hang up'), 's3', 'k', AbortSignal.abort())).toMatchObject({ code: 'ABORTED', backend: 's3' });
  });
});
