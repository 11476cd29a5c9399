import { mkdir, mkdtemp } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createContainer, defaultPoolThreads, loadConfig, openTieredStorage, type TieredStorage, type TransferPool } from '@takhin/core';
import { tieredSection, type BenchBackend } from '../bench-backend.js';
import type { TransferClient, TransferJob } from './transfer-client.js';
import { linkDataDir, removeDir } from './transfer-corpus.js';

/** Ours through the TransferPool: every file of the shape handed to the pool at once, downloads verified against the corpus's checksums. */
export function poolClient(pool: TransferPool, backend: BenchBackend): TransferClient {
  return {
    id: 'pool',
    kind: 'ours',
    label: 'ours: TransferPool uploadFile/downloadFile',
    concurrency: `${pool.threads} threads, all files queued`,
    computes: oursComputes(backend),
    // Threads past the pool's warm half stop after a minute idle (while the other clients run):
    // each timed run starts, as a running broker's transfers do, on started threads with the backend loaded.
    beforeUpload: () => pool.warm(backend.target),
    beforeDownload: () => pool.warm(backend.target),
    async upload({ shape, uploadPrefix }: TransferJob) {
      await Promise.all(shape.files.map((file) => pool.uploadFile(file.path, `${uploadPrefix}/${file.relative}`, backend.target)));
    },
    async download({ shape, downloadPrefix, downloadDir }: TransferJob) {
      await Promise.all(shape.files.map((file) => mkdir(dirname(join(downloadDir, file.relative)), { recursive: true })));
      await Promise.all(
        shape.files.map((file) =>
          pool.downloadFile(`${downloadPrefix}/${file.relative}`, join(downloadDir, file.relative), backend.target, { expected: file.checksums, size: file.bytes }),
        ),
      );
    },
  };
}

/**
 * Both digests of every byte uploaded (the Azure driver adds a Content-MD5 to every upload
 * request); SHA-256 of every byte downloaded, checked against the corpus's (or the manifest's)
 * SHA-256, which vouches for the CRC32C recorded with it.
 */
function oursComputes(backend: BenchBackend): TransferClient['computes'] {
  return { up: backend.name === 'azure' ? ['CRC32C', 'SHA-256', 'MD5'] : ['CRC32C', 'SHA-256'], down: ['SHA-256'] };
}

/**
 * Ours through the tiering entry points a broker uses: `loadConfig` → `createContainer` →
 * `openTieredStorage`, then `archiveSegment` of every closed segment at once (upload, remote
 * verification, manifest, metadata commit, local delete), and `restoreSegment` of each
 * (download, verification against the manifest, fsync, rename, commit). Each run opens a
 * fresh broker data dir (hard links to the corpus) under its own prefix; its pool is warmed up
 * before the clock starts, as a running broker's would be.
 */
export function tieredClient(backend: BenchBackend, work: string): TransferClient {
  let open: { tiered: TieredStorage; dataDir: string } | undefined;
  const openBroker = async (job: TransferJob) => {
    const dataDir = await mkdtemp(join(work, `tiered-${job.shape.id}-r${job.run}-`));
    await linkDataDir(job.shape, dataDir);
    const tiered = await openTieredStorage(createContainer(tieredConfig(backend, dataDir, job.uploadPrefix), [backend.provider]));
    open = { tiered, dataDir };
    // Start every thread with the backend loaded (a broker's pool is warm long before its first archive).
    await tiered.pool.warm(backend.target);
  };
  const archive = async (job: TransferJob) => {
    if (!open) throw new Error('tiered upload without its broker');
    const { tiered } = open;
    await Promise.all(job.shape.segments.map((path) => tiered.archiveSegment(path)));
  };
  const release = async () => {
    if (!open) return;
    const { tiered, dataDir } = open;
    open = undefined;
    await tiered.close();
    await removeDir(dataDir);
  };
  return {
    id: 'tiered',
    kind: 'ours',
    label: 'ours: archiveSegment/restoreSegment',
    concurrency: `every segment at once (the container's pool: ${defaultPoolThreads()} threads)`,
    computes: oursComputes(backend),
    beforeUpload: openBroker,
    upload: archive,
    afterUpload: release,
    // The bench deleted the timed archive once checked (each upload meets the store as the one
    // before did): this one, untimed, is what the timed restore brings back.
    async beforeDownload(job: TransferJob) {
      await openBroker(job);
      await archive(job);
    },
    async download(job: TransferJob) {
      if (!open) throw new Error('tiered download without its archive');
      const { tiered } = open;
      await Promise.all(job.shape.segments.map((path) => tiered.restoreSegment(path)));
    },
    downloadedPath(_job: TransferJob, file) {
      if (!open) throw new Error('tiered download checked after its broker closed');
      return join(open.dataDir, file.relative);
    },
    ownUploadLayout: true,
    afterDownload: release,
    close: release,
  };
}

/** The config a broker would load for this backend, its objects under `prefix`. */
function tieredConfig(backend: BenchBackend, dataDir: string, prefix: string) {
  return loadConfig(
    { storage: { data: { dir: dataDir }, tiered: { enabled: true, 'auto.archive.enabled': false, ...tieredSection(backend, prefix) } } },
    { providers: [backend.provider] },
  );
}
