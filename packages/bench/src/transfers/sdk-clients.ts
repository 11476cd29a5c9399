import { copyFile, mkdir } from 'node:fs/promises';
import { createReadStream, createWriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { BlobServiceClient } from '@azure/storage-blob';
import { Storage } from '@google-cloud/storage';
import { Client as MinioClient } from 'minio';
import type { BenchBackend } from '../bench-backend.js';
import { eachLimited, type TransferClient, type TransferJob } from './transfer-client.js';

/** Files in flight for the SDK baselines: rclone's default `--transfers`, the usual "a few at a time" of a plain loop. */
export const SDK_FILES_IN_FLIGHT = 4;

interface PlainCalls {
  label: string;
  computes?: TransferClient['computes'];
  upload(path: string, key: string): Promise<void>;
  download(key: string, path: string): Promise<void>;
  close?(): Promise<void>;
}

/**
 * Each backend's SDK used the way its documentation shows, with every option at its default,
 * in this process on the main thread, four files at a time: no checksums computed by us, no
 * fsync.
 */
export function sdkClient(backend: BenchBackend): TransferClient {
  const calls = plainCalls(backend);
  return {
    id: backend.name === 'fs' ? 'copy' : 'sdk',
    kind: backend.name === 'fs' ? 'reference' : 'sdk',
    label: calls.label,
    computes: calls.computes,
    concurrency: `${SDK_FILES_IN_FLIGHT} files at a time`,
    async upload({ shape, uploadPrefix }: TransferJob) {
      await eachLimited(shape.files, SDK_FILES_IN_FLIGHT, (file) => calls.upload(file.path, `${uploadPrefix}/${file.relative}`));
    },
    async download({ shape, downloadPrefix, downloadDir }: TransferJob) {
      await eachLimited(shape.files, SDK_FILES_IN_FLIGHT, async (file) => {
        const target = join(downloadDir, file.relative);
        await mkdir(dirname(target), { recursive: true });
        await calls.download(`${downloadPrefix}/${file.relative}`, target);
      });
    },
    close: calls.close,
  };
}

function plainCalls(backend: BenchBackend): PlainCalls {
  const config = backend.target.config as Record<string, string>;
  switch (backend.name) {
    case 'fs':
      return {
        label: 'reference: node:fs copyFile (an in-kernel copy: no hashing, no fsync)',
        upload: (path, key) => mkdir(dirname(join(config.root!, key)), { recursive: true }).then(() => copyFile(path, join(config.root!, key))),
        download: (key, path) => copyFile(join(config.root!, key), path),
      };
    case 's3': {
      const client = new S3Client({
        region: config.region,
        endpoint: config.endpoint,
        forcePathStyle: true,
        credentials: { accessKeyId: config.accessKeyId!, secretAccessKey: config.secretAccessKey! },
      });
      return {
        label: '@aws-sdk/lib-storage Upload; GetObject stream to a file',
        upload: async (path, key) => {
          await new Upload({ client, params: { Bucket: config.bucket, Key: key, Body: createReadStream(path) } }).done();
        },
        download: async (key, path) => {
          const response = await client.send(new GetObjectCommand({ Bucket: config.bucket, Key: key }));
          await pipeline(response.Body as Readable, createWriteStream(path));
        },
        close: async () => client.destroy(),
      };
    }
    case 'minio': {
      const endpoint = new URL(config.endpoint!);
      const client = new MinioClient({
        endPoint: endpoint.hostname,
        port: Number(endpoint.port),
        useSSL: endpoint.protocol === 'https:',
        accessKey: config.accessKey!,
        secretKey: config.secretKey!,
        region: config.region,
      });
      return {
        label: 'minio fPutObject / fGetObject',
        upload: async (path, key) => void (await client.fPutObject(config.bucket!, key, path)),
        download: (key, path) => client.fGetObject(config.bucket!, key, path),
      };
    }
    case 'gcs': {
      const bucket = new Storage({ apiEndpoint: config.endpoint, projectId: config.projectId }).bucket(config.bucket!);
      return {
        label: '@google-cloud/storage bucket.upload / file.download',
        upload: async (path, key) => void (await bucket.upload(path, { destination: key })),
        download: async (key, path) => void (await bucket.file(key).download({ destination: path })),
      };
    }
    case 'azure': {
      const container = BlobServiceClient.fromConnectionString(config.connectionString!).getContainerClient(config.container!);
      return {
        label: '@azure/storage-blob uploadFile / downloadToFile',
        // No transactional MD5 or CRC64 unless asked for (its Clients.js computes no digest).
        computes: { up: [], down: [] },
        upload: async (path, key) => void (await container.getBlockBlobClient(key).uploadFile(path)),
        download: async (key, path) => void (await container.getBlockBlobClient(key).downloadToFile(path)),
      };
    }
  }
}
