import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The repository's root (this file is `packages/bench/dist/bench-services.js` once built). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export type ServiceName = 'minio' | 'gcs' | 'azurite';

/** Which server each backend needs; fs needs none. */
export const SERVICE_OF: Record<string, ServiceName | undefined> = { fs: undefined, s3: 'minio', minio: 'minio', gcs: 'gcs', azure: 'azurite' };

/** Runs `scripts/services <action> <name>`; rejects when it exits non-zero (`status`: not running and healthy). */
function services(action: 'start' | 'stop' | 'status' | 'trim', name: ServiceName): Promise<unknown> {
  return run('bash', [join(REPO_ROOT, 'scripts/services'), action, name], { cwd: REPO_ROOT, maxBuffer: 16 << 20 });
}

/** The servers the bench uses, started through `scripts/services` when not running, and stopped again if it started them. */
export class BenchServices {
  readonly #started: ServiceName[] = [];

  /** Starts each of `names` that `scripts/services status` does not report running and healthy. */
  async ensure(names: Iterable<ServiceName>): Promise<void> {
    for (const name of new Set(names)) {
      if (await this.isRunning(name)) continue;
      console.error(`[bench] starting ${name} through scripts/services`);
      await services('start', name);
      this.#started.push(name);
    }
  }

  /** The server's process id (for its CPU time), from the pid file `scripts/services` keeps. */
  async pid(name: ServiceName): Promise<number | undefined> {
    const text = await readFile(join(REPO_ROOT, '.services', name, 'pid'), 'utf8').catch(() => '');
    const pid = Number(text.trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  }

  /**
   * Frees the disk the server still holds for objects deleted (`scripts/services trim`): between
   * runs, outside any clock, so a full run's gigabytes of deleted objects need not fit on disk at once.
   */
  async trim(name: ServiceName): Promise<void> {
    await services('trim', name).catch((error: unknown) => console.error(`[bench] could not trim ${name}: ${String(error)}`));
  }

  /** Whether this bench started `name` (and may restart or stop it), rather than finding it running. */
  startedHere(name: ServiceName): boolean {
    return this.#started.includes(name);
  }

  /**
   * Stops the server and starts it again on an empty data dir (`scripts/services` gives every
   * start a fresh one), outside any clock. Its pid changes: ask `pid` again. Only for a server
   * this bench started: another's data is not the bench's to empty.
   */
  async restart(name: ServiceName): Promise<void> {
    if (!this.startedHere(name)) throw new Error(`${name} was running before the bench started: not restarting it`);
    await services('stop', name);
    await services('start', name);
  }

  /** Stops the servers this bench started (never one somebody else had running). */
  async stopStarted(): Promise<void> {
    for (const name of this.#started.splice(0).reverse()) {
      console.error(`[bench] stopping ${name}, which the bench started`);
      await services('stop', name).catch((error: unknown) => console.error(`[bench] could not stop ${name}: ${String(error)}`));
    }
  }

  /** Whether `scripts/services status` reports `name` running and healthy. */
  async isRunning(name: ServiceName): Promise<boolean> {
    try {
      await services('status', name);
      return true;
    } catch {
      return false;
    }
  }
}
