import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { BACKEND_TARGET, COLD_STORE, TransferPool, createContainer } from '@takhin/core';
import { provider as fsProvider } from '@takhin/backend-fs';
import { writeSegment } from '@takhin/testkit';

/**
 * npm run demo: generates a few Kafka-shaped segments, archives every file to the embedded
 * FS cold store (chosen through DI, as a broker would) through the TransferPool's worker
 * threads, restores each to a fresh folder (verified against the archive-time checksums before
 * it is renamed into place) and compares the restored file with the original. The main thread
 * only sends paths. Exits non-zero if anything differs.
 */
async function main(): Promise<number> {
  const work = await mkdtemp(join(tmpdir(), 'takhin-demo-'));
  const dataDir = join(work, 'data');
  const restoreDir = join(work, 'restored');
  const coldRoot = join(work, 'cold');
  const container = createContainer({ backend: 'fs', fs: { root: coldRoot } }, [fsProvider]);
  const store = container.resolve(COLD_STORE);
  const target = container.resolve(BACKEND_TARGET);
  const pool = new TransferPool();
  try {
    console.log(`Takhin Tiered Storage demo: hot data dir ${dataDir}`);
    console.log(`cold store: ${store.backend} at ${coldRoot}; bytes move in TransferPool worker threads\n`);
    const files: string[] = [];
    for (const [i, baseOffset] of [0n, 3_100n, 7_200n].entries()) {
      const segment = await writeSegment(dataDir, { topic: 'orders', partition: 0, baseOffset, logBytes: (3 + i) * 1024 * 1024 });
      files.push(segment.files.log, segment.files.index, segment.files.timeindex);
    }

    const rows: string[][] = [];
    let failures = 0;
    for (const path of files) {
      const key = `segments/${relative(dataDir, path)}`;
      const archived = await pool.uploadFile(path, key, target);
      const restoredPath = join(restoreDir, relative(dataDir, path));
      await mkdir(join(restoredPath, '..'), { recursive: true });
      // Verified against the checksums recorded at archive time, as a restore from a manifest is.
      await pool.downloadFile(key, restoredPath, target, { expected: archived.checksums });
      const restored = await pool.checksumFile(restoredPath);
      const same = restored.size === archived.size && restored.crc32c === archived.checksums.crc32c && restored.sha256 === archived.checksums.sha256;
      if (!same) failures++;
      rows.push([key, String(archived.size), archived.checksums.crc32c, `${archived.checksums.sha256.slice(0, 16)}…`, same ? 'verified' : 'MISMATCH']);
    }
    printTable(['key', 'bytes', 'crc32c', 'sha256', 'restore'], rows);
    console.log(`\n${rows.length - failures} of ${rows.length} files archived and restored with matching CRC32C and SHA-256.`);
    return failures === 0 ? 0 : 1;
  } finally {
    await pool.close();
    await store.close();
    await rm(work, { recursive: true, force: true });
  }
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
}

process.exitCode = await main();
