import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closedPort } from '../network/closed-port.js';
import { requireServiceEnv } from '../services/service-env.js';

/**
 * A MinIO of the test's own (free port, data dir under the OS tmpdir), so a fault test can
 * kill and restart it without disturbing the shared server. Same binary and credentials.
 */
export class PrivateMinio {
  readonly accessKey: string;
  readonly secretKey: string;
  readonly region: string;
  #process: ChildProcess | undefined;

  private constructor(
    readonly bin: string,
    readonly dataDir: string,
    readonly port: number,
    env: Record<string, string>,
  ) {
    this.accessKey = env.TAKHIN_MINIO_ACCESS_KEY!;
    this.secretKey = env.TAKHIN_MINIO_SECRET_KEY!;
    this.region = env.TAKHIN_MINIO_REGION!;
  }

  static async start(): Promise<PrivateMinio> {
    const env = requireServiceEnv('minio', ['TAKHIN_MINIO_BIN', 'TAKHIN_MINIO_ACCESS_KEY', 'TAKHIN_MINIO_SECRET_KEY', 'TAKHIN_MINIO_REGION']);
    const server = new PrivateMinio(env.TAKHIN_MINIO_BIN, await mkdtemp(join(tmpdir(), 'takhin-minio-')), await closedPort(), env);
    await server.restart();
    return server;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** (Re)starts the server on the same port and data dir and waits until it is live. */
  async restart(): Promise<void> {
    this.#process = spawn(this.bin, ['server', this.dataDir, '--address', `127.0.0.1:${this.port}`, '--console-address', `127.0.0.1:${await closedPort()}`], {
      env: {
        ...process.env,
        MINIO_ROOT_USER: this.accessKey,
        MINIO_ROOT_PASSWORD: this.secretKey,
        MINIO_SITE_REGION: this.region,
        MINIO_BROWSER: 'off',
        MINIO_UPDATE: 'off',
      },
      stdio: 'ignore',
    });
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (this.#process.exitCode !== null) throw new Error(`private minio exited with ${this.#process.exitCode}`);
      try {
        if ((await fetch(`${this.endpoint}/minio/health/live`)).ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error('private minio did not become live within 30 s');
  }

  /** SIGKILL: the server gets no chance to clean anything up. */
  async kill(): Promise<void> {
    const child = this.#process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await once(child, 'exit');
  }

  async destroy(): Promise<void> {
    await this.kill();
    await rm(this.dataDir, { recursive: true, force: true });
  }
}
