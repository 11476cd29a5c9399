import { mkdtemp, readdir, rm, stat, utimes } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { provider as fsProvider } from '@takhin/backend-fs';
import { PROTOCOL_OBSERVER, createContainer, loadConfig, openTieredStorage, siblingOf, type TakhinConfig, type TieredStorage } from '@takhin/core';
import { ConsoleServer } from '@takhin/console';
import { writeSegment } from '@takhin/testkit';

const HOUR = 3_600_000;
const KiB = 1024;

/** A segment the fixture wrote: its path, and the offsets it holds. */
export interface FixtureSegment {
  readonly path: string;
  readonly baseOffset: number;
  readonly nextOffset: number;
}

/**
 * A data dir of two topics, written as a broker writes them, opened through the DI wiring the
 * way `serve` opens it (FS cold store beside the data dir, SQLite metadata):
 * - `orders-0`: three closed segments, 400 h old (due for the cold tier), and the active one;
 * - `payments-1`: one closed segment, 10 h old (hot), and the active one.
 * The first `orders-0` segment is archived, so there is one cold segment to restore.
 */
export async function writeFixtureDataDir(root: string): Promise<{ dataDir: string; orders: FixtureSegment[]; payments: FixtureSegment[] }> {
  const dataDir = join(root, 'data');
  const write = async (topic: string, partition: number, ageHours: number[]) => {
    const segments: FixtureSegment[] = [];
    let base = 0n;
    for (const [i, age] of ageHours.entries()) {
      const segment = await writeSegment(dataDir, { topic, partition, baseOffset: base, logBytes: (24 + i * 8) * KiB, recordBytes: 200 });
      const time = new Date(Date.now() - age * HOUR);
      for (const file of Object.values(segment.files)) await utimes(file, time, time);
      segments.push({ path: segment.segmentPath, baseOffset: Number(segment.baseOffset), nextOffset: Number(segment.nextOffset) });
      base = segment.nextOffset;
    }
    return segments;
  };
  const orders = await write('orders', 0, [400, 399, 398, 1]);
  const payments = await write('payments', 1, [10, 1]);
  return { dataDir, orders, payments };
}

export function fixtureConfig(dataDir: string, console: Record<string, unknown> = {}): TakhinConfig {
  return loadConfig({ storage: { data: { dir: dataDir }, tiered: { enabled: true } }, console }, { providers: [fsProvider] });
}

/** The console under test: a real server on a free loopback port over a real data dir. */
export interface ConsoleFixture {
  readonly root: string;
  readonly dataDir: string;
  readonly tiered: TieredStorage;
  readonly server: ConsoleServer;
  readonly url: string;
  readonly port: number;
  readonly orders: FixtureSegment[];
  readonly payments: FixtureSegment[];
  /** Unexpected errors the server logged (a test that provokes none expects this empty). */
  readonly logged: unknown[];
  close(): Promise<void>;
}

export async function startConsoleFixture(options: { token?: string; observer?: (step: string, path: string) => void } = {}): Promise<ConsoleFixture> {
  const root = await mkdtemp(join(tmpdir(), 'takhin-console-'));
  const { dataDir, orders, payments } = await writeFixtureDataDir(root);
  const config = fixtureConfig(dataDir, options.token === undefined ? {} : { token: options.token });
  const logged: unknown[] = [];
  const server = new ConsoleServer({ token: config.console.token, log: (_message, error) => logged.push(error) });
  const url = await server.listen({ host: '127.0.0.1', port: 0, loopback: true });
  const container = createContainer(config, [fsProvider]);
  // Each protocol step, as it is reached (a test's way to make one fail).
  const observe = options.observer;
  if (observe) container.register(PROTOCOL_OBSERVER, { useValue: { reached: (step: string, path: string) => observe(step, path) } });
  const tiered = await openTieredStorage(container, { owner: { listen: url } });
  await tiered.archiveSegment(orders[0]!.path);
  server.attach(tiered);
  return {
    root,
    dataDir,
    tiered,
    server,
    url,
    port: Number(new URL(url).port),
    orders,
    payments,
    logged,
    async close() {
      await server.close(1000);
      await tiered.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  readonly json: any;
}

export interface RawRequest {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
  /** The Host header (default 127.0.0.1:<port>). */
  readonly host?: string;
}

/**
 * Sends `path` exactly as given, not normalised (`/a/../b` stays as it is), the way a hostile
 * client would, and reads the whole answer.
 */
export function send(port: number, path: string, options: RawRequest = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { Host: options.host ?? `127.0.0.1:${port}`, ...options.headers };
    if (options.body !== undefined && headers['Content-Length'] === undefined && headers['Transfer-Encoding'] === undefined) headers['Content-Length'] = String(Buffer.byteLength(options.body));
    const request = httpRequest({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers, setHost: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: response.statusCode ?? 0, headers: response.headers, text, json });
      });
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(options.body);
  });
}

/** `POST path` with a JSON body and the right content type. */
export function postJson(port: number, path: string, body: unknown, headers: Record<string, string> = {}): Promise<RawResponse> {
  return send(port, path, { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json', ...headers } });
}

/**
 * Everything a request could change: the model's records and stats, and every file (with its
 * size and mtime) under the data dir and the FS cold store. Compared before and after a refused request.
 */
export async function snapshot(fixture: Pick<ConsoleFixture, 'tiered' | 'dataDir'>): Promise<unknown> {
  const files = async (dir: string): Promise<string[]> => {
    const found: string[] = [];
    const walk = async (current: string) => {
      for (const entry of await readdir(current, { withFileTypes: true }).catch(() => [])) {
        const path = join(current, entry.name);
        if (entry.isDirectory()) await walk(path);
        // The SQLite files change on reads (the records compare the metadata); every open rewrites the lock.
        else if (!/\.db(-wal|-shm)?$/.test(entry.name) && entry.name !== '.takhin-tiered.lock') {
          const info = await stat(path);
          found.push(`${relative(dir, path)} ${info.size} ${info.mtimeMs}`);
        }
      }
    };
    await walk(dir);
    return found.sort();
  };
  return {
    stats: fixture.tiered.getStats(),
    records: fixture.tiered.listSegments(),
    data: await files(fixture.dataDir),
    cold: await files(join(siblingOf(fixture.dataDir), 'cold')),
  };
}
