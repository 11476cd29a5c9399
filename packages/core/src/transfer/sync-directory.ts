import { constants } from 'node:fs';
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
