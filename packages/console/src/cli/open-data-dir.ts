import { hostname } from 'node:os';
import { ConfigError, TieringError, createContainer, loadConfig, openTieredStorage, readDataDirOwner, type TakhinConfig, type TieredStorage } from '@takhin/core';
import { providersFor } from './backend-providers.js';

/** Loads `takhin.yaml` (environment overrides applied), validating the configured backend's section. */
export async function loadCliConfig(path: string, env: NodeJS.ProcessEnv): Promise<TakhinConfig> {
  const backend = loadConfig(path, { env }).storage.tiered.backend;
  const config = loadConfig(path, { env, providers: await providersFor(backend) });
  if (config.storage.data.dir === undefined) throw new ConfigError('storage.data.dir', 'is required: the broker log dir whose segments are tiered');
  return config;
}

/**
 * Opens the data dir for this process. If a live process already holds it (normally a running
 * `takhin-tiered serve`), refuses BEFORE anything is opened: core opens the metadata file
 * before it takes the lock, and two processes must never tier one data dir at once.
 */
export async function openDataDir(config: TakhinConfig, owner: Record<string, unknown>): Promise<TieredStorage> {
  const dataDir = config.storage.data.dir!;
  await refuseIfHeld(dataDir);
  const container = createContainer(config, await providersFor(config.storage.tiered.backend));
  return openTieredStorage(container, { owner });
}

async function refuseIfHeld(dataDir: string): Promise<void> {
  const holder = await readDataDirOwner(dataDir);
  if (holder === undefined || holder.pid === process.pid) return;
  if (holder.host === hostname() && !isAlive(holder.pid)) return; // gone: core takes its lock over
  const listen = typeof holder.listen === 'string' ? holder.listen : undefined;
  throw new TieringError(
    'DATA_DIR_LOCKED',
    `the data dir ${dataDir} is in use by process ${holder.pid} on ${holder.host} since ${holder.startedAt}` +
      (listen ? `, a takhin-tiered console at ${listen}` : '') +
      '; nothing was done, since two processes must never tier one data dir. ' +
      (listen ? `Ask the running console instead (e.g. curl ${listen}/api/v1/tiered/stats, with -H "Authorization: Bearer $TOKEN" if console.token is set), or stop it first.` : 'Stop that process first.'),
  );
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
