import { describe, expect, it } from 'vitest';
import { parseMinioConfig, provider } from '@takhin/backend-minio';
import { configErrorPath } from '@takhin/testkit';

const valid = { endpoint: 'http://127.0.0.1:9000', accessKey: 'a', secretKey: 's', bucket: 'segments' };

const failure = (raw: unknown) => configErrorPath(parseMinioConfig, raw);

describe('minio config', () => {
  it('fills defaults and normalises the prefix', () => {
    expect(parseMinioConfig({ ...valid, prefix: 'tiered/' })).toMatchObject({ ...valid, prefix: 'tiered', region: 'us-east-1', partSizeMb: 16 });
  });

  it('names the offending key', () => {
    expect(failure({ ...valid, secretKye: 'x' })).toBe('storage.tiered.minio.secretKye');
    expect(failure({ ...valid, accessKey: undefined })).toBe('storage.tiered.minio.accessKey');
    expect(failure({ ...valid, endpoint: 'ftp://host' })).toBe('storage.tiered.minio.endpoint');
    expect(failure({ ...valid, endpoint: 'http://host:9000/bucket' })).toBe('storage.tiered.minio.endpoint');
    expect(failure({ ...valid, partSizeMb: 'lots' })).toBe('storage.tiered.minio.partSizeMb');
    expect(failure({ ...valid, sse: 'AES256', kmsKeyId: 'k' })).toBe('storage.tiered.minio.kmsKeyId');
  });

  it('is the provider named minio, loadable by module URL', async () => {
    expect(provider.name).toBe('minio');
    const loaded = (await import(provider.module!)) as { provider: typeof provider };
    expect(loaded.provider).toBe(provider);
  });
});
