import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { S3ColdStore } from '@takhin/backend-s3';
import { readAll, requireServiceEnv, sharedMinioSettings } from '@takhin/testkit';
import { s3Family } from './minio-s3.js';

const CREDENTIAL_VARIABLES = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONFIG_FILE'];

/** A store configured without keys: the AWS SDK's default credential chain must find them. */
function keylessStore(prefix: string): S3ColdStore {
  const config = s3Family.config(sharedMinioSettings('s3', { prefix }));
  delete (config as { accessKeyId?: string }).accessKeyId;
  delete (config as { secretAccessKey?: string }).secretAccessKey;
  return new S3ColdStore(config);
}

describe('s3: credentials from the AWS default chain when the config has no keys', () => {
  const saved = Object.fromEntries(CREDENTIAL_VARIABLES.map((name) => [name, process.env[name]]));
  const env = requireServiceEnv('minio', ['TAKHIN_MINIO_ACCESS_KEY', 'TAKHIN_MINIO_SECRET_KEY']);
  let scratch: string | undefined;

  afterEach(async () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  const roundTrip = async (store: S3ColdStore) => {
    const inspector = s3Family.inspect(sharedMinioSettings('s3'));
    await inspector.createBucket('takhin-s3-tests');
    inspector.close?.();
    await store.put('chain/object', Buffer.from('found my keys'));
    expect((await readAll(await store.get('chain/object'))).toString()).toBe('found my keys');
    await store.delete('chain/object');
    await store.close();
  };

  it('from environment variables', async () => {
    for (const name of CREDENTIAL_VARIABLES) delete process.env[name];
    process.env.AWS_ACCESS_KEY_ID = env.TAKHIN_MINIO_ACCESS_KEY;
    process.env.AWS_SECRET_ACCESS_KEY = env.TAKHIN_MINIO_SECRET_KEY;
    await roundTrip(keylessStore('chain-env'));
  });

  it('from a shared credentials file and profile', async () => {
    for (const name of CREDENTIAL_VARIABLES) delete process.env[name];
    scratch = await mkdtemp(join(tmpdir(), 'takhin-aws-'));
    const file = join(scratch, 'credentials');
    await writeFile(file, `[takhin-test]\naws_access_key_id = ${env.TAKHIN_MINIO_ACCESS_KEY}\naws_secret_access_key = ${env.TAKHIN_MINIO_SECRET_KEY}\n`);
    process.env.AWS_SHARED_CREDENTIALS_FILE = file;
    process.env.AWS_CONFIG_FILE = join(scratch, 'config-that-does-not-exist');
    process.env.AWS_PROFILE = 'takhin-test';
    await roundTrip(keylessStore('chain-file'));
  });

  it('wrong keys from the chain are ACCESS_DENIED, not a crash', async () => {
    for (const name of CREDENTIAL_VARIABLES) delete process.env[name];
    process.env.AWS_ACCESS_KEY_ID = env.TAKHIN_MINIO_ACCESS_KEY;
    process.env.AWS_SECRET_ACCESS_KEY = 'not-the-secret';
    const store = keylessStore('chain-wrong');
    await expect(store.put('chain/object', Buffer.from('x'))).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    await store.close();
  });
});
