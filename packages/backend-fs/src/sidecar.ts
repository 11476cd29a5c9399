import { readFile } from 'node:fs/promises';
import type { Checksums } from '@takhin/core';

/**
 * What the store keeps beside each object. `ino` and `size` tie the sidecar to the exact file
 * it describes: a sidecar that outlived its object (a crash between the two renames of a
 * replace) is recognised as stale instead of vouching for the wrong bytes.
 */
export interface Sidecar {
  key: string;
  ino: number;
  size: number;
  checksums: Checksums;
  metadata: Record<string, string>;
}

export async function readSidecar(path: string): Promise<Sidecar | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Sidecar;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
