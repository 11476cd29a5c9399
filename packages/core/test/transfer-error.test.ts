import { describe, expect, it } from 'vitest';
import { ColdStoreError, notFound, reviveTransferError, serializeTransferError } from '@takhin/core';

describe('transfer errors across a thread boundary', () => {
  it('rebuild a ColdStoreError with its code, backend, key and retryability', () => {
    const original = notFound('s3', 'segments/a.log', new Error('NoSuchKey'));
    const revived = reviveTransferError(structuredClone(serializeTransferError(original)));
    expect(revived).toBeInstanceOf(ColdStoreError);
    expect(revived).toMatchObject({ code: 'NOT_FOUND', backend: 's3', key: 'segments/a.log', retryable: false });
    expect(revived.message).toBe(original.message);
    expect(String((revived as ColdStoreError).cause)).toContain('NoSuchKey');
  });

  it('keep a system error its name, errno code and the worker-side stack', () => {
    const original = Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    const revived = reviveTransferError(structuredClone(serializeTransferError(original)));
    expect(revived).toMatchObject({ name: 'Error', code: 'ENOSPC', message: original.message });
    expect(revived.stack).toBe(original.stack);
  });

  it('turn a thrown non-error into an Error', () => {
    expect(reviveTransferError(serializeTransferError('boom')).message).toBe('boom');
  });
});
