import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { provider as fsProvider } from '@takhin/backend-fs';
import { createContainer, openTieredStorage } from '@takhin/core';
import { EXIT } from '@takhin/console';
import { fixtureConfig, snapshot, writeFixtureDataDir, type FixtureSegment } from './console-fixture.js';

const BIN = fileURLToPath(new URL('../bin/takhin-tiered.js', import.meta.url));
const ESCAPE = '\u001b';

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the built bin as an operator would, stdout and stderr as pipes (not a terminal). */
function cli(cwd: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('takhin-tiered CLI', () => {
  let root: string;
  let dataDir: string;
  let orders: FixtureSegment[];
  let payments: FixtureSegment[];
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'takhin-cli-'));
    ({ dataDir, orders, payments } = await writeFixtureDataDir(root));
    await writeFile(join(root, 'takhin.yaml'), 'storage:\n  data:\n    dir: ./data\n  tiered:\n    enabled: true\nconsole:\n  listen: 127.0.0.1:0\n');
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('on a Node without node:sqlite says which Node it needs and how to get it (exit 3), instead of a stack trace', async () => {
    // The Node these tests run on is recent; the bin is shown an older version number before it starts.
    const posing = async (version: string) => {
      const preload = join(root, `node-${version}.mjs`);
      await writeFile(preload, `Object.defineProperty(process.versions, 'node', { value: '${version}' });\n`);
      return cli(root, ['stats'], { NODE_OPTIONS: `--import=${preload}` });
    };
    const older = await posing('22.4.1');
    expect(older).toMatchObject({ code: 3, stdout: '' });
    expect(older.stderr).toBe(
      'takhin-tiered needs Node 22.5 or later (it uses node:sqlite); this is Node 22.4.1.\nscripts/bootstrap installs Node 24 into .tools/, and "npm run takhin-tiered -- <command>" runs the CLI with it.\n',
    );
    expect(await posing('22.5.0')).toMatchObject({ code: 0 });
  });

  /** The data dir's state as the CLI left it (opened in this process, then closed again). */
  async function state(): Promise<unknown> {
    const tiered = await openTieredStorage(createContainer(fixtureConfig(dataDir), [fsProvider]));
    try {
      return await snapshot({ tiered, dataDir });
    } finally {
      await tiered.close();
    }
  }

  it('--help lists the commands and the exit codes', async () => {
    const run = await cli(root, ['--help']);
    expect(run.code).toBe(EXIT.OK);
    for (const command of ['serve', 'archive <path...> | --due', 'restore', 'evict', 'status', 'stats', 'plan', 'rebuild', 'read <topic> <partition> <offset>']) expect(run.stdout).toContain(command);
    for (const code of ['0  ok', '1  an operation failed', '2  usage error', '3  config error', '4  not found or invalid input', '5  the data dir is locked']) expect(run.stdout).toContain(code);
  });

  it('usage errors exit 2', async () => {
    for (const args of [[], ['bogus'], ['stats', '--frobnicate'], ['status'], ['read', 'orders', '0'], ['restore', '--due'], ['stats', 'extra']]) {
      const run = await cli(root, args);
      expect({ args, code: run.code }).toEqual({ args, code: EXIT.USAGE });
      expect(run.stderr).toMatch(/^takhin-tiered: /);
    }
  });

  it('config errors exit 3, naming the key or the file', async () => {
    const missing = await cli(root, ['stats', '--config', join(root, 'nope.yaml')]);
    expect(missing.code).toBe(EXIT.CONFIG);
    expect(missing.stderr).toContain('config file does not exist');
    await writeFile(join(root, 'bad.yaml'), 'storage:\n  data:\n    dir: ./data\n  tiered:\n    cold.age.hours: soon\n');
    const bad = await cli(root, ['stats', '--config', 'bad.yaml', '--json']);
    expect(bad.code).toBe(EXIT.CONFIG);
    expect(JSON.parse(bad.stdout)).toEqual({ error: 'CONFIG', message: expect.stringContaining('storage.tiered.cold.age.hours') });
    const env = await cli(root, ['stats'], { TAKHIN_STORAGE_TIERED_COLD_AGE_HOURS: 'never' });
    expect(env.code).toBe(EXIT.CONFIG);
    const unknown = await cli(root, ['stats'], { TAKHIN_STORAGE_TIERED_BACKEND: 'nfs' });
    expect(unknown.code).toBe(EXIT.CONFIG);
    expect(unknown.stderr).toContain('unknown backend "nfs"; the console knows fs, s3, minio, gcs, azure');
  });

  it('a console.token that "Authorization: Bearer" cannot carry exits 3 for every command, naming the key and never the token', async () => {
    // `Bearer <token>` is one run of non-space characters, and Node reads header bytes as latin1:
    // such a token would lock every client out.
    await writeFile(join(root, 'non-ascii-token.yaml'), 'storage:\n  data:\n    dir: ./data\nconsole:\n  token: pässwörd\n');
    const runs = [
      await cli(root, ['stats', '--config', 'non-ascii-token.yaml']),
      await cli(root, ['serve', '--config', 'non-ascii-token.yaml']),
      await cli(root, ['stats'], { TAKHIN_CONSOLE_TOKEN: 'two words' }),
      await cli(root, ['serve'], { TAKHIN_CONSOLE_TOKEN: 'tab\there' }),
    ];
    for (const run of runs) {
      expect(run.code).toBe(EXIT.CONFIG);
      expect(run.stderr).toContain('"console.token"');
      expect(run.stderr).toContain('visible ASCII without spaces');
      for (const secret of ['pässwörd', 'two words', 'tab\there']) expect(run.stderr).not.toContain(secret);
    }
    expect(runs[2]!.stderr).toContain('TAKHIN_CONSOLE_TOKEN');
    // Every visible ASCII character is fine.
    expect((await cli(root, ['stats'], { TAKHIN_CONSOLE_TOKEN: '!"#$%&\'()*+,-./0-9:;<=>?@A-Z[\\]^_`a-z{|}~' })).code).toBe(EXIT.OK);
  });

  it('serve refuses to listen beyond loopback without a token: exit 3, nothing bound', async () => {
    const run = await cli(root, ['serve'], { TAKHIN_CONSOLE_LISTEN: '0.0.0.0:0' });
    expect(run.code).toBe(EXIT.CONFIG);
    expect(run.stderr).toContain('console.token');
    expect(run.stderr).toContain('not a loopback address');
  });

  it('invalid or unknown segment paths exit 4 and change nothing, even beside a valid one', async () => {
    const before = await state();
    for (const args of [
      ['status', '../../etc/passwd'],
      ['status', '/etc/passwd'],
      ['status', 'orders-0/00000000000000999999.log'],
      ['archive', orders[1]!.path, 'orders-0/../../x/00000000000000000000.log'],
      ['restore', 'orders-9/00000000000000000000.log'],
      ['evict', `${orders[1]!.path}\u0001`],
      ['read', 'nosuchtopic', '0', '0'],
      ['read', 'orders', 'x', '0'],
    ]) {
      const run = await cli(root, args);
      expect({ args, code: run.code }).toEqual({ args, code: EXIT.NOT_FOUND });
    }
    expect(await state()).toEqual(before);
    // Past the end: no batch at or after it in the partition. Both outputs say where the log ends.
    const logEnd = orders.at(-1)!.nextOffset;
    const plain = await cli(root, ['read', 'orders', '0', '999999']);
    expect(plain.code).toBe(EXIT.NOT_FOUND);
    expect(plain.stderr).toBe(`takhin-tiered: offset 999999 is past the last record of orders-0: its log end offset is ${logEnd} (the offset after its last record, in ${orders.at(-1)!.path})\n`);
    const json = await cli(root, ['read', 'orders', '0', '999999', '--json']);
    expect(json.code).toBe(EXIT.NOT_FOUND);
    expect(JSON.parse(json.stdout)).toEqual({ error: 'OFFSET_OUT_OF_RANGE', message: expect.stringContaining(`its log end offset is ${logEnd} `), log_end_offset: String(logEnd) });
    // The last record itself reads, and says the next offset is the log end.
    expect(JSON.parse((await cli(root, ['read', 'orders', '0', String(logEnd - 1), '--json'])).stdout)).toMatchObject({ next_offset: String(logEnd) });
  });

  it('read says a whole number beyond 2^53-1 is too large, not malformed; --max-bytes has a maximum', async () => {
    for (const offset of ['9007199254740992', '9007199254740993', '123456789012345678901234567890']) {
      const run = await cli(root, ['read', 'orders', '0', offset]);
      expect({ offset, code: run.code }).toEqual({ offset, code: EXIT.NOT_FOUND });
      expect(run.stderr).toContain('offset');
      expect(run.stderr).toContain('too large');
      expect(run.stderr).toContain('9007199254740991 (2^53-1)');
      expect(run.stderr).not.toContain('must be a whole number');
    }
    expect((await cli(root, ['read', 'orders', '99999999999999999', '0'])).stderr).toContain('partition');
    for (const maxBytes of ['99999999999999', '67108865', '0']) {
      const run = await cli(root, ['read', 'orders', '0', '0', '--max-bytes', maxBytes]);
      expect({ maxBytes, code: run.code }).toEqual({ maxBytes, code: EXIT.USAGE });
      expect(run.stderr).toContain('--max-bytes must be from 1 to 67108864 (64 MiB)');
    }
    expect((await cli(root, ['read', 'orders', '0', '0', '--max-bytes', '67108864', '--json'])).code).toBe(EXIT.OK);
    expect((await cli(root, ['--help'])).stdout).toContain('at most 67108864 (64 MiB)');
  });

  it('stats and status print the API documents under --json', async () => {
    const stats = await cli(root, ['stats', '--json']);
    expect(stats.code).toBe(EXIT.OK);
    expect(JSON.parse(stats.stdout)).toMatchObject({ total_segments: 6, hot_segments: expect.any(Number), warm_segments: expect.any(Number), cold_segments: 0, archived_segments: 0 });
    // Whose the cold store's prefix is, as the open just checked, and the archiver (no cycle in this process).
    expect(JSON.parse(stats.stdout)).toMatchObject({
      cold_store: { backend: 'fs', claim: 'owned', checked_at: expect.any(Number), owner: null, error: null },
      archiver: { running: false, interval_ms: 3_600_000, last_cycle: null, last_success_at: null, last_failure_at: null },
    });
    const human = await cli(root, ['stats']);
    expect(human.code).toBe(EXIT.OK);
    expect(human.stdout).toMatch(/^cold store fs, prefix owned by this data dir \(checked \d{4}-\d\d-\d\dT[\d:.]+Z\)$/m);
    const status = await cli(root, ['status', orders[0]!.path, '--json']);
    expect(status.code).toBe(EXIT.OK);
    expect(JSON.parse(status.stdout)).toMatchObject({ segment_path: orders[0]!.path, policy: expect.stringMatching(/hot|warm/), is_archived: false });
  });

  it('plan lists the due archives; refusing the active segment exits 1 and changes nothing', async () => {
    const plan = await cli(root, ['plan', '--json']);
    expect(plan.code).toBe(EXIT.OK);
    expect(JSON.parse(plan.stdout).items.filter((i: { action: string }) => i.action === 'archive').map((i: { segment_path: string }) => i.segment_path)).toEqual(
      orders.slice(0, 3).map((s) => s.path),
    );
    const before = await state();
    const active = await cli(root, ['archive', orders[3]!.path]);
    expect(active.code).toBe(EXIT.OPERATION_FAILED);
    expect(active.stdout).toContain('active segment');
    expect(await state()).toEqual(before);
  });

  it('archive --due archives every due segment, one plain line each, with no escape code when not a terminal', async () => {
    const run = await cli(root, ['archive', '--due']);
    expect(run.code).toBe(EXIT.OK);
    expect(run.stdout).not.toContain(ESCAPE);
    expect(run.stdout).not.toContain('\r');
    const lines = run.stdout.trim().split('\n');
    expect(lines.filter((line) => line.startsWith('archived  ')).map((line) => line.split(/\s+/)[1]).sort()).toEqual(orders.slice(0, 3).map((s) => s.path));
    expect(lines.at(-1)).toMatch(/^archived 3 of 3 segments/);
  });

  it('restore with --json reports each segment; then status shows it hot again', async () => {
    const run = await cli(root, ['restore', orders[0]!.path, orders[1]!.path, '--json']);
    expect(run.code).toBe(EXIT.OK);
    const document = JSON.parse(run.stdout);
    expect(document).toMatchObject({ operation: 'restore', succeeded: 2, failed: 0 });
    expect(document.results.map((r: { segment_path: string; outcome: string }) => [r.segment_path, r.outcome])).toEqual([
      [orders[0]!.path, 'restored'],
      [orders[1]!.path, 'restored'],
    ]);
    const status = JSON.parse((await cli(root, ['status', orders[0]!.path, '--json'])).stdout);
    expect(status).toMatchObject({ policy: 'hot', is_archived: true });
  });

  it('evict deletes the local copy of a restored segment; evicting one never archived exits 1', async () => {
    const run = await cli(root, ['evict', orders[1]!.path, '--json']);
    expect(run.code).toBe(EXIT.OK);
    expect(JSON.parse(run.stdout).results[0]).toMatchObject({ outcome: 'evicted', segment: { policy: 'cold' } });
    const refused = await cli(root, ['evict', payments[0]!.path]);
    expect(refused.code).toBe(EXIT.OPERATION_FAILED);
  });

  it('read returns the records at an offset, reading an archived segment from the cold store without restoring it', async () => {
    const offset = orders[1]!.baseOffset + 2;
    const run = await cli(root, ['read', 'orders', '0', String(offset), '--max-bytes', '2000', '--json']);
    expect(run.code).toBe(EXIT.OK);
    const document = JSON.parse(run.stdout);
    expect(document.segment_path).toBe(orders[1]!.path);
    expect(document.source).toBe('remote');
    const offsets = document.batches.flatMap((b: { records: { offset: string }[] }) => b.records.map((r) => Number(r.offset)));
    expect(offsets[0]).toBe(offset);
    expect(offsets).toEqual(offsets.map((_: number, i: number) => offset + i));
    expect(Number(document.next_offset)).toBe(offsets.at(-1) + 1);
    // The fixture's producer is not transactional.
    expect(document.aborted_transactions).toEqual([]);
    const plain = await cli(root, ['read', 'orders', '0', String(offset), '--max-bytes', '1']);
    expect(plain.code).toBe(EXIT.OK);
    expect(plain.stdout).toMatch(new RegExp(`^${offset}  `));
    expect(plain.stdout).not.toContain(ESCAPE);
    expect(plain.stdout).toContain('read from the cold store, not restored');
    const status = JSON.parse((await cli(root, ['status', orders[1]!.path, '--json'])).stdout);
    expect(status).toMatchObject({ policy: 'cold', is_archived: true });
  });

  it('rebuild recreates the records from the manifests', async () => {
    const run = await cli(root, ['rebuild', '--json']);
    expect(run.code).toBe(EXIT.OK);
    expect(JSON.parse(run.stdout)).toMatchObject({ manifests: 3, problems: [] });
  });

  it('cycle runs one cycle and reports it', async () => {
    const run = await cli(root, ['cycle', '--json']);
    expect(run.code).toBe(EXIT.OK);
    expect(JSON.parse(run.stdout)).toMatchObject({ failed: 0, planned: expect.any(Number) });
  });

  it('on a terminal, moving many segments draws a progress bar: segments, bytes, rate, ETA', async () => {
    expect((await cli(root, ['evict', orders[0]!.path, orders[1]!.path])).code).toBe(EXIT.OK);
    const paths = orders.slice(0, 3).map((s) => s.path);
    // util-linux `script` runs the command on a pseudo-terminal, as an operator's shell would.
    const command = [process.execPath, BIN, 'restore', ...paths].join(' ');
    const run = await new Promise<Run>((resolve, reject) => {
      const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: root, env: { PATH: process.env.PATH ?? '', COLUMNS: '200' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr: '' }));
    });
    expect(run.code).toBe(EXIT.OK);
    expect(run.stdout).toContain('\r\u001b[2Krestore [');
    expect(run.stdout).toMatch(/3\/3 segments {2}[\d.]+ KiB\/[\d.]+ KiB {2}[\d.]+ (KiB|MiB)\/s {2}ETA/);
    for (const path of paths) expect(run.stdout).toContain(`restored  ${path}`);
    // The bar redrawn under the k-th "restored" line already counts k segments done.
    const afterLines = [...run.stdout.matchAll(/restored {2}\S+[^\n]*\n\r\u001b\[2Krestore \[[#-]+\] {2}(\d)\/3 segments/g)].map((match) => Number(match[1]));
    expect(afterLines).toEqual([1, 2, 3]);
  });

  it('while serve holds the data dir, other commands exit 5 naming its URL, and change nothing; serve stops cleanly on SIGTERM', async () => {
    const server = spawn(process.execPath, [BIN, 'serve', '--json'], { cwd: root, env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const url = await listening(server);
      const stats = await fetch(`${url}/api/v1/tiered/stats`);
      expect(stats.status).toBe(200);
      const before = JSON.stringify(await stats.json());
      for (const args of [['stats'], ['archive', orders[2]!.path], ['restore', orders[2]!.path], ['rebuild'], ['serve']]) {
        const run = await cli(root, args, { TAKHIN_CONSOLE_LISTEN: '127.0.0.1:0' });
        expect({ args, code: run.code }).toEqual({ args, code: EXIT.DATA_DIR_LOCKED });
        expect(run.stderr).toContain(url);
      }
      expect(JSON.stringify(await (await fetch(`${url}/api/v1/tiered/stats`)).json())).toBe(before);
    } finally {
      const exited = new Promise<number | null>((resolve) => server.on('close', resolve));
      server.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
    expect((await cli(root, ['stats'])).code).toBe(EXIT.OK);
  });
});

/** The URL `takhin-tiered serve --json` says it listens on; rejects if it exits first (saying `stderr()`) or says nothing in 30 s. */
function listening(server: ChildProcessByStdio<null, Readable, Readable>, stderr: () => string = () => ''): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let out = '';
    server.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /"listen": "(http:\/\/127\.0\.0\.1:\d+)"/.exec(out);
      if (match) resolve(match[1]!);
    });
    server.on('close', (code) => reject(new Error(`serve exited with ${code}: ${stderr()}`)));
    setTimeout(() => reject(new Error('serve did not start')), 30_000).unref();
  });
}

/**
 * A data dir (`takhin.yaml`, `extra` added to its `storage.tiered`) with one segment archived, and
 * a second broker's `second.yaml` whose cold store root was copied from the first's by mistake.
 */
async function twoBrokersOneColdStore(root: string, extra = ''): Promise<{ dataDir: string; orders: FixtureSegment[] }> {
  const { dataDir, orders } = await writeFixtureDataDir(root);
  await writeFile(join(root, 'takhin.yaml'), `storage:\n  data:\n    dir: ./data\n  tiered:\n    enabled: true\n${extra}`);
  await mkdir(join(root, 'data2'));
  await writeFile(join(root, 'second.yaml'), 'storage:\n  data:\n    dir: ./data2\n  tiered:\n    enabled: true\n    fs:\n      root: ./data-tiered/cold\n');
  expect((await cli(root, ['archive', orders[0]!.path])).code).toBe(EXIT.OK);
  return { dataDir, orders };
}

describe("takhin-tiered CLI and the cold store's owner", () => {
  it('refuses a second data dir on the same cold store prefix, and rebuild --take-over hands the prefix over', async () => {
    const root = await mkdtemp(join(tmpdir(), 'takhin-cli-claim-'));
    try {
      const { dataDir, orders } = await twoBrokersOneColdStore(root);

      const refused = await cli(root, ['stats', '--config', 'second.yaml']);
      expect(refused.code).toBe(EXIT.OPERATION_FAILED);
      expect(refused.stderr).toContain(`the fs cold store's prefix belongs to the data dir ${dataDir} on `);
      expect(refused.stderr).toContain('run `takhin-tiered rebuild --take-over`');

      const misplaced = await cli(root, ['stats', '--take-over', '--config', 'second.yaml']);
      expect(misplaced.code).toBe(EXIT.USAGE);
      expect(misplaced.stderr).toContain('--take-over is an option of rebuild alone, not of stats');

      // Not while the first data dir is still there: that is a second broker, not a replaced disk.
      const notReplaced = await cli(root, ['rebuild', '--take-over', '--config', 'second.yaml']);
      expect(notReplaced.code).toBe(EXIT.OPERATION_FAILED);
      expect(notReplaced.stderr).toContain(`cannot take the fs cold store's prefix over: it belongs to the data dir ${dataDir} on this host`);
      expect(notReplaced.stderr).toContain(`if ${dataDir} is retired for good, delete ${join(dataDir, '.takhin-tiered.id')} first`);
      expect((await cli(root, ['stats', '--json'])).code).toBe(EXIT.OK);

      await rm(join(dataDir, '.takhin-tiered.id'));
      const taken = await cli(root, ['rebuild', '--take-over', '--json', '--config', 'second.yaml']);
      expect(taken.code).toBe(EXIT.OK);
      expect(JSON.parse(taken.stdout)).toMatchObject({ manifests: 1, created: 1, problems: [] });
      const status = JSON.parse((await cli(root, ['status', orders[0]!.path, '--json', '--config', 'second.yaml'])).stdout);
      expect(status).toMatchObject({ policy: 'cold', is_archived: true });

      // The first data dir now writes nothing there.
      const old = await cli(root, ['archive', orders[1]!.path]);
      expect(old.code).toBe(EXIT.OPERATION_FAILED);
      expect(old.stderr).toContain(`belongs to the data dir ${join(root, 'data2')} on `);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe("takhin-tiered serve and the cold store's owner", () => {
  it('logs on stderr why its archiver archives nothing more once another data dir took the cold store over', async () => {
    const root = await mkdtemp(join(tmpdir(), 'takhin-cli-claim-serve-'));
    try {
      // Cycles only when asked (POST /cycle), so the take-over below surely comes before one.
      const { dataDir, orders } = await twoBrokersOneColdStore(root, '    auto.archive.enabled: false\nconsole:\n  listen: 127.0.0.1:0\n');

      const server = spawn(process.execPath, [BIN, 'serve', '--json'], { cwd: root, env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      server.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => server.on('close', resolve));
      try {
        const url = await listening(server, () => stderr);
        // The first data dir's disk is replaced while its console still runs (its id gone with the disk).
        await rm(join(dataDir, '.takhin-tiered.id'));
        expect((await cli(root, ['rebuild', '--take-over', '--config', 'second.yaml'])).code).toBe(EXIT.OK);

        const cycle = await fetch(`${url}/api/v1/tiered/cycle`, { method: 'POST' });
        expect(cycle.status).toBe(200);
        expect(await cycle.json()).toMatchObject({ archived: 0, failed: 2 });
        // The server wrote its log before it answered, but the answer (a socket) and stderr (a
        // pipe) reach this process apart: wait, bounded, for the pipe to catch up.
        await vi.waitFor(
          () => {
            for (const segment of orders.slice(1, 3)) {
              expect(stderr).toContain(
                `takhin-tiered: archiver: cannot archive ${segment.path}: the fs cold store's prefix belongs to the data dir ${join(root, 'data2')} on ${hostname()}`,
              );
            }
            expect(stderr).toMatch(/writes and deletes nothing there\. .* \(tried again from \d{4}-\d\d-\d\dT[\d:.]+Z\)\n/);
          },
          { timeout: 10_000, interval: 20 },
        );
        // And the console itself says so, for an operator who reads no log: stats and /metrics.
        const stats: any = await (await fetch(`${url}/api/v1/tiered/stats`)).json();
        expect(stats.cold_store).toMatchObject({ claim: 'claimed', owner: { data_dir: join(root, 'data2'), host: hostname() }, error: { code: 'COLD_STORE_CLAIMED' } });
        expect(stats.archiver.last_cycle).toMatchObject({ ok: false, report: { failed: 2 }, failure: { operation: 'archive', code: 'COLD_STORE_CLAIMED' } });
        expect(stats.archiver).toMatchObject({ running: false, last_success_at: null, last_failure_at: stats.archiver.last_cycle.finished_at });
        const metrics = await (await fetch(`${url}/metrics`)).text();
        expect(metrics).toMatch(/^tiered_storage_cold_store_owned 0$/m);
        expect(metrics).toMatch(/^tiered_storage_cold_store_claim\{state="claimed"\} 1$/m);
        expect(metrics).toContain(`\ntiered_storage_archiver_last_failure_timestamp_seconds ${stats.archiver.last_failure_at / 1000}\n`);
      } finally {
        server.kill('SIGTERM');
        expect(await exited).toBe(0);
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
