import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { COLD_STORE, ChecksumAccumulator, createContainer, type Checksums } from '@takhin/core';
import { provider as fsProvider } from '@takhin/backend-fs';
import { checksumStream, writeSegment } from '@takhin/testkit';

/**
 * npm run demo: generates a few Kafka-shaped segments, archives every file to the embedded
 * FS cold store (chosen through DI, as a broker would), reads each back and verifies both
 * checksums. Exits non-zero if any byte differs.
 */
async function main(): Promise<number> {
  const work = await mkdtemp(join(tmpdir(), 'takhin-demo-'));
  const dataDir = join(work, 'data');
  const coldRoot = join(work, 'cold');
  try {
    const container = createContainer({ backend: 'fs', fs: { root: coldRoot } }, [fsProvider]);
    const store = container.resolve(COLD_STORE);

    console.log(`Takhin Tiered Storage demo — hot data dir ${dataDir}`);
    console.log(`cold store: ${store.backend} at ${coldRoot}\n`);
    const segments = [];
    for (const [i, baseOffset] of [0n, 4_100n, 8_200n].entries()) {
      segments.push(await writeSegment(dataDir, { topic: 'orders', partition: 0, baseOffset, logBytes: (3 + i) * 1024 * 1024 }));
    }

    const rows: string[][] = [];
    let failures = 0;
    for (const segment of segments) {
      for (const path of Object.values(segment.files)) {
        const key = `segments/${relative(dataDir, path)}`;
        const local = await checksumFile(path);
        const put = await store.put(key, createReadStream(path), { size: local.size, checksums: local.checksums });
        const back = await checksumStream(await store.get(key));
        const verified = back.size === local.size && back.checksums.crc32c === local.checksums.crc32c && back.checksums.sha256 === local.checksums.sha256;
        if (!verified) failures++;
        rows.push([key, String(put.size), put.checksums.crc32c ?? '-', `${(put.checksums.sha256 ?? '-').slice(0, 16)}…`, verified ? 'verified' : 'MISMATCH']);
      }
    }
    printTable(['key', 'bytes', 'crc32c', 'sha256', 'round trip'], rows);
    console.log(`\n${rows.length - failures} of ${rows.length} files round-tripped with matching CRC32C and SHA-256.`);
    await store.close();
    return failures === 0 ? 0 : 1;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function checksumFile(path: string): Promise<{ size: number; checksums: Checksums }> {
  const accumulator = new ChecksumAccumulator();
  for await (const chunk of createReadStream(path)) accumulator.update(chunk as Buffer);
  const { size } = await stat(path);
  if (size !== accumulator.bytes) throw new Error(`${basename(path)} changed while being read`);
  return { size, checksums: accumulator.digest() };
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
}

process.exitCode = await main();
