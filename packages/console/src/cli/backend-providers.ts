import { ConfigError, type BackendProvider } from '@takhin/core';

/**
 * The five backends the console knows, imported only when configured: each pulls in its SDK,
 * and a CLI that loads the AWS, Google and Azure SDKs to talk to a folder starts slowly.
 */
const LOADERS: Readonly<Record<string, () => Promise<{ provider: BackendProvider }>>> = {
  fs: () => import('@takhin/backend-fs') as Promise<{ provider: BackendProvider }>,
  s3: () => import('@takhin/backend-s3') as Promise<{ provider: BackendProvider }>,
  minio: () => import('@takhin/backend-minio') as Promise<{ provider: BackendProvider }>,
  gcs: () => import('@takhin/backend-gcs') as Promise<{ provider: BackendProvider }>,
  azure: () => import('@takhin/backend-azure') as Promise<{ provider: BackendProvider }>,
};

/** The provider of `backend`; a name the console does not know is a ConfigError listing the ones it does. */
export async function providersFor(backend: string): Promise<BackendProvider[]> {
  const load = Object.hasOwn(LOADERS, backend) ? LOADERS[backend] : undefined;
  if (!load) throw new ConfigError('storage.tiered.backend', `unknown backend ${JSON.stringify(backend.slice(0, 40))}; the console knows ${Object.keys(LOADERS).join(', ')}`);
  return [(await load()).provider];
}
