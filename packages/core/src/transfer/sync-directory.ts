import { closeSync, constants, fsyncSync, openSync } from 'node:fs';
import { open } from 'node:fs/promises';

/** fsyncs a folder, so a file renamed or created in it survives a power cut. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** `syncDirectory` on the calling thread, blocking it (for a pool worker: see `syncOnThisThread`). */
export function syncDirectorySync(dir: string): void {
  fsyncPathSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
}

/** Opens `path` with `flags`, fsyncs it and closes it, on the calling thread, blocking it. */
export function fsyncPathSync(path: string, flags: number = constants.O_RDONLY): void {
  const fd = openSync(path, flags);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
