import { stat } from 'node:fs/promises';
import { ConfigError } from '../errors/config-error.js';
import { quoteValue } from './quote-value.js';

/**
 * Throws unless `dir` (`storage.data.dir`) is a folder that exists. It is the broker's log dir,
 * which the broker creates: a missing one is a typo or an unmounted disk, and creating it would
 * only hide that behind a store of 0 segments. So nothing is created here.
 */
export async function checkDataDir(dir: string): Promise<void> {
  const stats = await stat(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') {
      throw new ConfigError('storage.data.dir', `no such folder: ${quoteValue(dir)} (the broker's log dir, which this library never creates)`);
    }
    throw new ConfigError('storage.data.dir', `cannot read ${quoteValue(dir)} (${error.code ?? error.message})`);
  });
  if (!stats.isDirectory()) throw new ConfigError('storage.data.dir', `${quoteValue(dir)} is a file, not a folder`);
}
