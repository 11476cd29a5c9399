import type { BackendProvider } from '@takhin/core';

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

/** The provider of `backend`, or none for a name the console does not know (createContainer says so). */
export async function providersFor(backend: string): Promise<BackendProvider[]> {
  const load = Object.hasOwn(LOADERS, backend) ? LOADERS[backend] : undefined;
  return load ? [(await load()).provider] : [];
}
