import { ConfigError, TieringError, createContainer, loadConfig, openTieredStorage, readDataDirOwner, type TakhinConfig, type TieredStorage } from '@takhin/core';
import { checkConsoleToken } from '../server/console-token.js';
import { providersFor } from './backend-providers.js';

/**
 * Loads `takhin.yaml` (environment overrides applied), validating the configured backend's section
 * and what only the console reads (`console.token`, see `checkConsoleToken`), for every command.
 */
export async function loadCliConfig(path: string, env: NodeJS.ProcessEnv): Promise<TakhinConfig> {
  const backend = loadConfig(path, { env }).storage.tiered.backend;
  const config = loadConfig(path, { env, providers: await providersFor(backend) });
  if (config.storage.data.dir === undefined) throw new ConfigError('storage.data.dir', 'is required: the broker log dir whose segments are tiered');
  checkConsoleToken(config.console.token, env.TAKHIN_CONSOLE_TOKEN === undefined ? undefined : 'environment variable TAKHIN_CONSOLE_TOKEN');
  return config;
}

/**
 * Opens the data dir for this process. Core takes the data dir's lock before it reads or writes
 * anything there; if a live process holds it (normally a running `takhin-tiered serve`), its
 * refusal gets what an operator can do instead.
 */
export async function openDataDir(config: TakhinConfig, owner: Record<string, unknown>, options: { readonly takeOverColdStore?: boolean } = {}): Promise<TieredStorage> {
  const container = createContainer(config, await providersFor(config.storage.tiered.backend));
  try {
    return await openTieredStorage(container, { ...options, owner });
  } catch (error) {
    if (error instanceof TieringError && error.code === 'DATA_DIR_LOCKED') throw await withOperatorAdvice(error, config.storage.data.dir!);
    throw error;
  }
}

/** Core's refusal, then: nothing was done, and ask the running console instead, or stop it. */
async function withOperatorAdvice(error: TieringError, dataDir: string): Promise<TieringError> {
  const listen = (await readDataDirOwner(dataDir))?.listen;
  const advice =
    typeof listen === 'string'
      ? `Ask the running console instead (e.g. curl ${listen}/api/v1/tiered/stats, with -H "Authorization: Bearer $TOKEN" if console.token is set), or stop it first.`
      : 'Stop that process first.';
  return new TieringError('DATA_DIR_LOCKED', `${error.message}; nothing was done, since two processes must never tier one data dir. ${advice}`, undefined, { cause: error });
}
