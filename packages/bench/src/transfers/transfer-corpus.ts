import { link, mkdir, readdir, rm, stat, utimes } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import type { Checksums, TransferPool } from '@takhin/core';
import { writeSegment } from '@takhin/testkit/standalone';

/** One file every client moves: its path, its path relative to the shape's folder (the key's tail), size and checksums. */
export interface CorpusFile {
  path: string;
  relative: string;
  bytes: number;
  checksums: Checksums;
}

/**
 * A file shape of the throughput bench: `count` closed segments of `mib` MiB (`.log`, `.index`,
 * `.timeindex`), one partition each, under `srcDir`; every client moves exactly these files.
 * Each partition also has a small active segment under `activeDir`, which only the tiering
 * entry points see (a partition's highest segment is never archived).
 */
export interface TransferShape {
  id: string;
  label: string;
  count: number;
  mib: number;
  srcDir: string;
  activeDir: string;
  files: CorpusFile[];
  /** The closed segments' paths (`<topic>-<partition>/<base offset>.log`), what archiveSegment takes. */
  segments: string[];
  totalBytes: number;
}

const MiB = 1024 * 1024;
const DAY = 86_400_000;
/** Record batches of 64 KiB: Kafka-sized, and few enough writes to generate a GiB fast. */
const RECORD_BYTES = 64 * 1024;

/** Generates a shape under `root` and checksums its files through the pool (the manifests' values, for verified downloads). */
export async function generateShape(root: string, pool: TransferPool, count: number, mib: number): Promise<TransferShape> {
  const id = `${count}x${mib}MiB`;
  const dir = join(root, id);
  const srcDir = join(dir, 'src');
  const activeDir = join(dir, 'active');
  const old = new Date(Date.now() - 30 * DAY);
  const segments: string[] = [];
  for (let start = 0; start < count; start += 8) {
    const batch = Array.from({ length: Math.min(8, count - start) }, (_, i) => start + i);
    await Promise.all(
      batch.map(async (partition) => {
        const spec = { topic: 'bench.throughput', partition, recordBytes: RECORD_BYTES };
        const closed = await writeSegment(srcDir, { ...spec, baseOffset: 0n, logBytes: mib * MiB });
        await writeSegment(activeDir, { ...spec, baseOffset: closed.nextOffset, logBytes: 64 * 1024 });
        for (const file of Object.values(closed.files)) await utimes(file, old, old);
        segments[partition] = closed.segmentPath;
      }),
    );
  }
  const paths = await listFiles(srcDir);
  const files: CorpusFile[] = [];
  for (const path of paths) {
    const sums = await pool.checksumFile(path);
    files.push({ path, relative: relative(srcDir, path), bytes: (await stat(path)).size, checksums: { crc32c: sums.crc32c, sha256: sums.sha256 } });
  }
  const label = count === 1 ? `1 × ${mib >= 1024 ? `${mib / 1024} GiB` : `${mib} MiB`}` : `${count} × ${mib} MiB`;
  return { id, label, count, mib, srcDir, activeDir, files, segments, totalBytes: files.reduce((sum, f) => sum + f.bytes, 0) };
}

/** A broker data dir holding the shape's segments, closed and active, as hard links (archiving deletes them, never the corpus). */
export async function linkDataDir(shape: TransferShape, dataDir: string): Promise<void> {
  for (const from of [shape.srcDir, shape.activeDir]) {
    for (const path of await listFiles(from)) {
      const target = join(dataDir, relative(from, path));
      await mkdir(dirname(target), { recursive: true });
      await link(path, target);
    }
  }
}

/** Every file under `dir`, sorted. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
