import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AccountSASPermissions, AccountSASResourceTypes, AccountSASServices, generateAccountSASQueryParameters, StorageSharedKeyCredential } from '@azure/storage-blob';
import { readServiceEnv } from '@takhin/testkit/standalone';
import type { BenchBackend } from '../bench-backend.js';
import { REPO_ROOT } from '../bench-services.js';
import type { TransferClient, TransferJob } from './transfer-client.js';

const run = promisify(execFile);

/** Installs (when missing) and locates a tool through `scripts/bench-tools`. */
export async function ensureTool(tool: 'rclone' | 'mc'): Promise<string> {
  const { stdout } = await run('bash', [join(REPO_ROOT, 'scripts/bench-tools'), tool], { cwd: REPO_ROOT, maxBuffer: 16 << 20 });
  return stdout.trim().split('\n').at(-1)!;
}

/** The first line a tool prints for `args` (its version). */
export async function toolVersion(binary: string, args: string[]): Promise<string> {
  const { stdout } = await run(binary, args, { env: quietEnv() });
  return stdout.trim().split('\n')[0] ?? '';
}

/** The environment tools run in: no CA bundle meant for other clients (rclone and mc refuse plain-http loopback with one). */
function quietEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env.AWS_CA_BUNDLE;
  return env;
}

async function exec(binary: string, args: string[], env: Record<string, string>): Promise<void> {
  try {
    await run(binary, args, { env: quietEnv(env), maxBuffer: 64 << 20 });
  } catch (error) {
    const { stderr = '', stdout = '' } = error as { stderr?: string; stdout?: string };
    throw new Error(`${binary} ${args.join(' ')} failed: ${(stderr || stdout).trim().slice(-2000)}`);
  }
}

/** A tool run as one command up and one down, with `env` added to its environment. */
function commandClient(
  binary: string,
  env: Record<string, string>,
  about: Pick<TransferClient, 'id' | 'kind' | 'label' | 'concurrency' | 'computes'>,
  args: { up(job: TransferJob): string[]; down(job: TransferJob): string[] },
): TransferClient {
  return {
    ...about,
    upload: (job) => exec(binary, args.up(job), env),
    download: (job) => exec(binary, args.down(job), env),
  };
}

/**
 * rclone with its defaults (4 transfers, its own part sizes and cutoffs), configured through
 * environment variables only (a remote named `bench`), copying the shape's folder up and the
 * pool's objects down. It checks sizes, and MD5 where the server gives one; it does not fsync.
 */
export async function rcloneClient(binary: string, backend: BenchBackend, work: string): Promise<TransferClient> {
  const { env, root } = rcloneRemote(backend);
  // An empty config file of its own: the remote is all in the environment.
  const config = join(await mkdtemp(join(work, 'rclone-')), 'rclone.conf');
  const base = ['--config', config, '-q'];
  return commandClient(
    binary,
    env,
    { id: 'rclone', kind: 'rclone', label: 'rclone copy (defaults)', concurrency: '4 transfers (--transfers default)' },
    {
      up: ({ shape, uploadPrefix }) => [...base, 'copy', shape.srcDir, `${root}/${uploadPrefix}`],
      down: ({ downloadPrefix, downloadDir }) => [...base, 'copy', `${root}/${downloadPrefix}`, downloadDir],
    },
  );
}

function rcloneRemote(backend: BenchBackend): { env: Record<string, string>; root: string } {
  const config = backend.target.config as Record<string, string>;
  const remote = (type: string, options: Record<string, string>) => ({
    env: Object.fromEntries([['RCLONE_CONFIG_BENCH_TYPE', type], ...Object.entries(options).map(([key, value]) => [`RCLONE_CONFIG_BENCH_${key.toUpperCase()}`, value])]),
  });
  const service = readServiceEnv();
  switch (backend.name) {
    case 'fs':
      return { env: {}, root: config.root! };
    case 's3':
    case 'minio':
      return {
        ...remote('s3', {
          provider: 'Minio',
          endpoint: service.TAKHIN_MINIO_ENDPOINT!,
          access_key_id: service.TAKHIN_MINIO_ACCESS_KEY!,
          secret_access_key: service.TAKHIN_MINIO_SECRET_KEY!,
          region: service.TAKHIN_MINIO_REGION!,
        }),
        root: `bench:${config.bucket}`,
      };
    case 'gcs':
      return { ...remote('google cloud storage', { anonymous: 'true', endpoint: `${config.endpoint}/storage/v1/`, project_number: service.TAKHIN_GCS_PROJECT_ID! }), root: `bench:${config.bucket}` };
    case 'azure':
      // rclone 1.60 takes an endpoint only as a host suffix, and its emulator switch is fixed to
      // port 10000: an account SAS URL is how it reaches Azurite on any port.
      return { ...remote('azureblob', { sas_url: azuriteSasUrl(service) }), root: `bench:${config.container}` };
  }
}

/** An account SAS for Azurite's account, valid for a day, as a URL. */
function azuriteSasUrl(service: Record<string, string>): string {
  const credential = new StorageSharedKeyCredential(service.TAKHIN_AZURITE_ACCOUNT_NAME!, service.TAKHIN_AZURITE_ACCOUNT_KEY!);
  const sas = generateAccountSASQueryParameters(
    {
      expiresOn: new Date(Date.now() + 86_400_000),
      permissions: AccountSASPermissions.parse('rwdlac'),
      resourceTypes: AccountSASResourceTypes.parse('sco').toString(),
      services: AccountSASServices.parse('b').toString(),
    },
    credential,
  );
  return `${service.TAKHIN_AZURITE_BLOB_ENDPOINT}?${sas.toString()}`;
}

/** MinIO's own client with its defaults, against MinIO (the s3 and minio backends): `mc cp --recursive` up and down. */
export async function mcClient(binary: string, backend: BenchBackend, work: string): Promise<TransferClient> {
  const service = readServiceEnv();
  const endpoint = new URL(service.TAKHIN_MINIO_ENDPOINT!);
  const host = `${endpoint.protocol}//${encodeURIComponent(service.TAKHIN_MINIO_ACCESS_KEY!)}:${encodeURIComponent(service.TAKHIN_MINIO_SECRET_KEY!)}@${endpoint.host}`;
  const env = { MC_HOST_bench: host };
  const configDir = await mkdtemp(join(work, 'mc-'));
  const base = ['--config-dir', configDir, '--quiet', '--disable-pager'];
  const bucket = (backend.target.config as { bucket: string }).bucket;
  return commandClient(
    binary,
    env,
    // Its downloads hash nothing: 0.06 user CPU-s per GiB for 1 GiB (the rest is the kernel's), less than a CRC32C would take.
    { id: 'mc', kind: 'mc', label: 'mc cp --recursive (defaults)', concurrency: 'mc default', computes: { down: [] } },
    {
      up: ({ shape, uploadPrefix }) => [...base, 'cp', '--recursive', `${shape.srcDir}/`, `bench/${bucket}/${uploadPrefix}/`],
      down: ({ downloadPrefix, downloadDir }) => [...base, 'cp', '--recursive', `bench/${bucket}/${downloadPrefix}/`, `${downloadDir}/`],
    },
  );
}
