import { describe, expect, it } from 'vitest';
import { parseS3Config, provider } from '@takhin/backend-s3';
import { configErrorPath } from '@takhin/testkit';

const valid = { bucket: 'segments', region: 'eu-west-1' };

const failure = (raw: unknown) => configErrorPath(parseS3Config, raw);

describe('s3 config', () => {
  it('fills defaults and normalises the prefix', () => {
    expect(parseS3Config({ ...valid, prefix: '/tiered/' })).toMatchObject({ ...valid, prefix: 'tiered', partSizeMb: 16, queueSize: 4 });
  });

  it('names the offending key', () => {
    expect(failure({ ...valid, bukket: 'x' })).toBe('storage.tiered.s3.bukket');
    expect(failure({ region: 'eu-west-1' })).toBe('storage.tiered.s3.bucket');
    expect(failure({ ...valid, partSizeMb: 4 })).toBe('storage.tiered.s3.partSizeMb');
    expect(failure({ ...valid, sse: 'rot13' })).toBe('storage.tiered.s3.sse');
    expect(failure({ ...valid, kmsKeyId: 'k' })).toBe('storage.tiered.s3.kmsKeyId');
    expect(failure({ ...valid, accessKeyId: 'only-half' })).toBe('storage.tiered.s3.secretAccessKey');
    expect(failure({ ...valid, endpoint: 'not a url' })).toBe('storage.tiered.s3.endpoint');
    // Parseable as URLs, but no server answers them: a scheme that is not http(s), or none.
    expect(failure({ ...valid, endpoint: 'localhost://39000' })).toBe('storage.tiered.s3.endpoint');
    expect(failure({ ...valid, endpoint: '127.0.0.1:9000' })).toBe('storage.tiered.s3.endpoint');
    expect(failure({ ...valid, endpoint: 'ftp://127.0.0.1:9000' })).toBe('storage.tiered.s3.endpoint');
    expect(failure({ ...valid, partSizeMb: Number.NaN })).toBe('storage.tiered.s3.partSizeMb');
    expect(failure({ ...valid, partSizeMb: '0x10' })).toBe('storage.tiered.s3.partSizeMb');
    expect(failure({ ...valid, prefix: 'a/../b' })).toBe('storage.tiered.s3.prefix');
  });

  it('is the provider named s3, loadable by module URL', async () => {
    expect(provider.name).toBe('s3');
    const loaded = (await import(provider.module!)) as { provider: typeof provider };
    expect(loaded.provider).toBe(provider);
  });
});
