import type { Stats } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Checksums } from '@takhin/core';

/**
 * What the store keeps beside each object version. `ino`, `size` and `mtimeMs` tie it to the
 * exact file it describes (a rename keeps all three): a sidecar that outlived its version, or
 * one whose inode number a later file reused, never vouches for other bytes.
 */
export interface Sidecar {
  key: string;
  ino: number;
  size: number;
  mtimeMs: number;
  checksums: Checksums;
  metadata: Record<string, string>;
}

export async function readSidecar(path: string): Promise<Sidecar | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Sidecar;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || error instanceof SyntaxError) return undefined;
    throw error;
  }
}

/** Whether `sidecar` describes the file `stats` are of (times compared to the millisecond, as tools copy them). */
export function describesFile(sidecar: Sidecar | undefined, key: string, stats: Stats): sidecar is Sidecar {
  return describesCopyOf(sidecar, key, stats) && sidecar.ino === stats.ino;
}

/**
 * Whether `sidecar` describes the file `stats` are of but for its inode: a store copied with its
 * times (`cp -a`, `rsync -a`) gives every file a new inode, while its sidecars keep the old ones.
 */
export function describesCopyOf(sidecar: Sidecar | undefined, key: string, stats: Stats): sidecar is Sidecar {
  return sidecar !== undefined && sidecar.key === key && sidecar.size === stats.size && Math.abs(sidecar.mtimeMs - stats.mtimeMs) < 1;
}
