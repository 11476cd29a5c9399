import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createColdStore, type BackendProvider, type BackendTarget, type ColdStore } from '@takhin/core';
import { readServiceEnv } from '@takhin/testkit/standalone';

export const BENCH_BACKENDS = ['fs', 's3', 'minio', 'gcs', 'azure'] as const;
export type BenchBackendName = (typeof BENCH_BACKENDS)[number];

/** A backend to archive to: as plain data for the pool, as a store for the main-thread baseline. */
export interface BenchBackend {
  name: BenchBackendName;
  provider: BackendProvider;
  target: BackendTarget;
  store: ColdStore;
  /** The key prefix this run writes under. */
  runPrefix: string;
  /** Creates the bucket or container on a server that `scripts/services` started again, empty (nothing with `--config`). */
  ensureBucket(): Promise<void>;
  /** Deletes what the run wrote and closes the store. */
  cleanup(): Promise<void>;
}

// Imported from here, where the bench's own dependencies resolve (core cannot see backends).
const LOADERS: Record<BenchBackendName, () => Promise<unknown>> = {
  fs: () => import('@takhin/backend-fs'),
  s3: () => import('@takhin/backend-s3'),
  minio: () => import('@takhin/backend-minio'),
  gcs: () => import('@takhin/backend-gcs'),
  azure: () => import('@takhin/backend-azure'),
};

/**
 * Builds the chosen backend. `fs` archives to a folder under the OS temp dir; the others use
 * the servers `scripts/services` runs (endpoints from `.services/env`), unless `rawConfig`
 * (from `--config`) gives the provider's config outright.
 */
export async function openBenchBackend(name: BenchBackendName, options: { bucket?: string; rawConfig?: unknown }): Promise<BenchBackend> {
  const { provider } = (await LOADERS[name]()) as { provider?: BackendProvider };
  if (!provider?.module) throw new Error(`backend "${name}" is not built yet: its package exports no provider with a module URL`);
  const runPrefix = `bench-${Date.now().toString(36)}`;
  let scratch: string | undefined;
  let config = options.rawConfig;
  if (config === undefined && name === 'fs') {
    scratch = await mkdtemp(join(tmpdir(), 'takhin-bench-fs-'));
    config = { root: scratch };
  } else if (config === undefined && name !== 'fs') {
    config = serviceConfig(name, options.bucket);
  }
  const target: BackendTarget = { module: provider.module, config };
  const ensure = async () => {
    if (options.rawConfig === undefined) await ensureBucket(name, config as Record<string, string>);
  };
  await ensure();
  const store = await createColdStore(target);
  return {
    name,
    provider,
    target,
    store,
    runPrefix,
    ensureBucket: ensure,
    async cleanup() {
      const keys: string[] = [];
      for await (const object of store.list(`${runPrefix}/`)) keys.push(object.key);
      await store.delete(keys);
      await store.close();
      if (scratch) await rm(scratch, { recursive: true, force: true });
    },
  };
}

/** The `storage.tiered` keys for the backend, its objects under `prefix` (the filesystem backend's root is its prefix). */
export function tieredSection(backend: BenchBackend, prefix: string): Record<string, unknown> {
  const config = backend.target.config as Record<string, unknown>;
  const section = backend.name === 'fs' ? { root: join(String(config.root), prefix) } : { ...config, prefix };
  return { backend: backend.name, [backend.name]: section };
}

/** Config for a server from `.services/env`; the provider's `parseConfig` names any bad key. */
function serviceConfig(name: Exclude<BenchBackendName, 'fs'>, bucket: string | undefined): unknown {
  const env = readServiceEnv();
  const need = (key: string) => {
    const value = env[key];
    if (!value) throw new Error(`${key} is not set: start the servers with "scripts/services start" (or pass --config)`);
    return value;
  };
  switch (name) {
    case 's3':
      // The bucket the S3 contract suite creates; the store itself never creates buckets.
      return {
        bucket: bucket ?? 'takhin-s3-tests',
        region: need('TAKHIN_MINIO_REGION'),
        endpoint: need('TAKHIN_MINIO_ENDPOINT'),
        forcePathStyle: true,
        accessKeyId: need('TAKHIN_MINIO_ACCESS_KEY'),
        secretAccessKey: need('TAKHIN_MINIO_SECRET_KEY'),
      };
    case 'minio':
      // The bucket the MinIO contract suite creates.
      return {
        bucket: bucket ?? 'takhin-minio-tests',
        endpoint: need('TAKHIN_MINIO_ENDPOINT'),
        region: need('TAKHIN_MINIO_REGION'),
        accessKey: need('TAKHIN_MINIO_ACCESS_KEY'),
        secretKey: need('TAKHIN_MINIO_SECRET_KEY'),
      };
    case 'gcs':
      return { bucket: bucket ?? 'takhin-contract', endpoint: need('TAKHIN_GCS_ENDPOINT'), projectId: need('TAKHIN_GCS_PROJECT_ID') };
    case 'azure':
      // The container the Azure contract suite creates.
      return { container: bucket ?? 'takhin-contract', connectionString: need('TAKHIN_AZURITE_CONNECTION_STRING') };
  }
}

/**
 * The bucket or container on the server `scripts/services` runs: its data dir is fresh at every
 * start. Each SDK is imported only for its own backend, so a scenario on another (the reads on
 * fs) does not carry it (docs/ARCHITECTURE.md, "Packages and who imports whom").
 */
async function ensureBucket(name: BenchBackendName, config: Record<string, string>): Promise<void> {
  if (name === 's3' || name === 'minio') await ensureMinioBucket(config.bucket!);
  if (name === 'gcs') {
    const { Storage } = await import('@google-cloud/storage');
    const storage = new Storage({ apiEndpoint: config.endpoint, projectId: config.projectId });
    const [exists] = await storage.bucket(config.bucket!).exists();
    if (!exists) await storage.createBucket(config.bucket!);
  }
  if (name === 'azure') {
    const { BlobServiceClient } = await import('@azure/storage-blob');
    await BlobServiceClient.fromConnectionString(config.connectionString!).getContainerClient(config.container!).createIfNotExists();
  }
}

async function ensureMinioBucket(bucket: string): Promise<void> {
  const { CreateBucketCommand, S3Client } = await import('@aws-sdk/client-s3');
  const env = readServiceEnv();
  const client = new S3Client({
    region: env.TAKHIN_MINIO_REGION,
    endpoint: env.TAKHIN_MINIO_ENDPOINT,
    forcePathStyle: true,
    credentials: { accessKeyId: env.TAKHIN_MINIO_ACCESS_KEY ?? '', secretAccessKey: env.TAKHIN_MINIO_SECRET_KEY ?? '' },
  });
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    const code = (error as { name?: string }).name;
    if (code !== 'BucketAlreadyOwnedByYou' && code !== 'BucketAlreadyExists') throw error;
  } finally {
    client.destroy();
  }
}
