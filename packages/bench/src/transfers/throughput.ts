import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { checksumLocalFile } from '@takhin/core';
import type { BenchBackend } from '../bench-backend.js';
import { startCpuProbe } from '../probes/cpu-probe.js';
import { startDiskProbe } from '../probes/disk-probe.js';
import type { ChecksumName, TransferClient, TransferJob } from './transfer-client.js';
import { listFiles, removeDir, type TransferShape } from './transfer-corpus.js';
import { median, rotate, round, spread, type Spread } from '../numbers.js';

const run = promisify(execFile);
const GiB = 1024 ** 3;

export type Direction = 'up' | 'down';

/** One timed transfer of a whole shape. */
export interface TransferRun {
  run: number;
  seconds: number;
  megabytesPerSecond: number;
  /** CPU seconds of the client: this process (every thread) plus the child processes it ran. */
  clientCpuSeconds: number;
  /** The kernel's share of `clientCpuSeconds` (absent from results older than 2026-11-26 04:00). */
  clientSystemCpuSeconds?: number | undefined;
  /** CPU seconds of the server process meanwhile (undefined for fs: no server). */
  serverCpuSeconds?: number | undefined;
  /**
   * Busy seconds of every CPU meanwhile (`/proc/stat`): client, server, the kernel's threads.
   * Cores busy = this ÷ `seconds`. Absent from results older than 2026-11-26 14:00.
   */
  machineCpuSeconds?: number | undefined;
  /** The 1-minute load average just before the run. */
  loadAverage: number;
  /**
   * The untimed `sync` after the run: how long the disk took to write what the client left
   * dirty in the page cache (ours fsyncs every download inside its clock; most others leave it
   * to the kernel). Absent from results older than 2026-11-26 10:30.
   */
  writeBackSeconds?: number | undefined;
  /**
   * What the disk under the work folder (the server's data and the clients' files alike, on one
   * disk here) read, wrote, and how long it was busy, within the clock (`/proc/diskstats`; every
   * process's requests). Absent where the device is not found, and from results older than
   * 2026-11-26 22:15.
   */
  disk?: { readBytes: number; writtenBytes: number; busySeconds: number } | undefined;
}

export interface TransferCase {
  backend: string;
  shape: string;
  direction: Direction;
  client: string;
  kind: TransferClient['kind'];
  label: string;
  concurrency: string;
  /** The checksums the client computes in this direction, where known (`TransferClient.computes`). */
  computes?: readonly ChecksumName[] | undefined;
  bytes: number;
  files: number;
  runs: TransferRun[];
  megabytesPerSecond: Spread;
  /** Medians over the runs. */
  clientCpuSecondsPerGiB: number;
  /** The kernel's share of it (median), where the runs measured it. */
  clientSystemCpuSecondsPerGiB?: number | undefined;
  /** Median seconds of the untimed `sync` after each run (see `TransferRun.writeBackSeconds`). */
  writeBackSeconds?: number | undefined;
  /** Median MB/s had the clock run until the bytes were on disk (the run's seconds plus its write-back). */
  durableMegabytesPerSecond?: number | undefined;
  /**
   * Medians over the runs that measured the disk (`TransferRun.disk`): bytes the disk wrote
   * within the clock per byte moved (a download fsynced inside its clock writes about 1; one
   * left in the page cache, about 0), and the share of the clock it was busy, in %.
   */
  diskWrittenPerByte?: number | undefined;
  diskBusyPercent?: number | undefined;
  serverCpuSecondsPerGiB?: number | undefined;
  /** Server CPU time ÷ wall time, in % of one core (the server may use both). */
  serverCpuPercent?: number | undefined;
}

/** Ours ÷ another client, run by run (each run measures both back to back): median, min and max. */
export interface TransferRatio extends Spread {
  backend: string;
  shape: string;
  direction: Direction;
  ours: string;
  other: string;
  /** The median before rounding: what a target is judged by (0.995 is not 1.0, though both print 1.00). */
  exactMedian: number;
}

export interface ThroughputProgress {
  (message: string): void;
}

/**
 * Moves every shape up and down with every client, `runs` times, against one backend. Each run
 * first uploads the shape with the pool, untimed, as the objects every client downloads (the
 * tiering client restores its own archive). Then every client uploads, and each upload is
 * deleted once checked (and `afterDelete` runs: the server's disk is trimmed), so every timed
 * upload meets the store as the one before it did: holding just those download objects. Then
 * every client downloads. Both in the same order, rotated a place each run (who goes first, pool
 * included); the run ends deleting what it wrote. After every timed transfer, `sync` writes back
 * what a client left dirty, outside the clock, so no client pays for the one before it; then,
 * also outside the clock, every upload's keys and sizes and every download's size and checksums
 * are checked against the corpus, so a client that moves the wrong bytes fails the bench instead
 * of winning it.
 */
export async function measureBackend(
  backend: BenchBackend,
  clients: readonly TransferClient[],
  shapes: readonly TransferShape[],
  options: {
    runs: number;
    work: string;
    /** The server's process id now, for its CPU time (a restart changes it). */
    serverPid?: (() => number | undefined) | undefined;
    afterDelete?: (() => Promise<void>) | undefined;
    /**
     * Before every run, outside any clock: starts the server again, empty, for a server that
     * slows as it holds more (Azurite keeps every deleted blob until its collector runs). Each
     * run then has its own warm-up round, as the first run has.
     */
    restartServer?: (() => Promise<void>) | undefined;
    log: ThroughputProgress;
  },
): Promise<TransferCase[]> {
  const runsOf = new Map<string, TransferRun[]>();
  const record = (shape: TransferShape, direction: Direction, client: TransferClient, result: TransferRun) => {
    const id = `${shape.id}\n${direction}\n${client.id}`;
    runsOf.set(id, [...(runsOf.get(id) ?? []), result]);
  };
  const pool = clients.find((c) => c.id === 'pool')!;
  for (const shape of shapes) {
    for (let r = 1; r <= options.runs; r++) {
      // A shape's first run, and every run on a server started again, begins with a warm-up round.
      if (options.restartServer) await options.restartServer();
      if (r === 1 || options.restartServer) {
        await warmUp(backend, pool, shape, options);
        // What the warm-up deleted is trimmed before the first timed run, as each upload's is before the next.
        await options.afterDelete?.();
      }
      const base = `${backend.runPrefix}/r${r}/${shape.id}`;
      await uploadUntimed(pool, { ...jobFor(shape, r, base, pool, options.work, backend.name), uploadPrefix: `${base}/source` });
      const order = rotate(clients, r - 1);
      for (const client of order) {
        const job = jobFor(shape, r, base, client, options.work, backend.name);
        await client.beforeUpload?.(job);
        await intoPageCache(shape.files.map((file) => file.path));
        record(shape, 'up', client, await timed(shape, r, options, () => client.upload(job)));
        if (!client.ownUploadLayout) await checkUploaded(backend, job, client.id);
        options.log(`${backend.name} ${shape.label} up   r${r} ${client.id.padEnd(6)} ${describe(runsOf.get(`${shape.id}\nup\n${client.id}`)!.at(-1)!)}`);
        // Without this the store filled up run by run, and the uploads after the first were the
        // slower: in 2026-11-27T16-50-33-401Z, MinIO's first upload of a run ran at up to 1.49× that
        // client's median, its server spending 2.7 CPU-s per GiB where the fifth spent 5.0–5.5.
        await client.afterUpload?.(job);
        await deleteUnder(backend, `${job.uploadPrefix}/`);
        await options.afterDelete?.();
      }
      for (const client of order) {
        const job = jobFor(shape, r, base, client, options.work, backend.name);
        await mkdir(job.downloadDir, { recursive: true });
        await client.beforeDownload?.(job);
        if (backend.name === 'fs') await outOfPageCache(await listFiles(join(String((backend.target.config as { root: string }).root), client.ownUploadLayout ? job.uploadPrefix : job.downloadPrefix)));
        try {
          record(shape, 'down', client, await timed(shape, r, options, () => client.download(job)));
          await checkDownloaded(job, client);
        } finally {
          await client.afterDownload?.(job);
          await removeDir(job.downloadDir);
        }
        options.log(`${backend.name} ${shape.label} down r${r} ${client.id.padEnd(6)} ${describe(runsOf.get(`${shape.id}\ndown\n${client.id}`)!.at(-1)!)}`);
      }
      await deleteUnder(backend, `${base}/`);
      await options.afterDelete?.();
    }
  }
  const cases: TransferCase[] = [];
  for (const shape of shapes) {
    for (const direction of ['up', 'down'] as const) {
      for (const client of clients) {
        const runs = runsOf.get(`${shape.id}\n${direction}\n${client.id}`) ?? [];
        cases.push(summarize(backend.name, shape, direction, client, runs));
      }
    }
  }
  return cases;
}

/**
 * One untimed round of the shape, up and down with the pool, before the timed runs: the first
 * transfers after a server starts pay for its warm-up (fake-gcs-server, growing its heap to
 * hold a 1 GiB body: 25–28 server CPU-s for the first upload, 10–17 for the ones after), and
 * whoever went first in run 1 would pay it alone.
 */
async function warmUp(backend: BenchBackend, pool: TransferClient, shape: TransferShape, options: { work: string; log: ThroughputProgress }): Promise<void> {
  const base = `${backend.runPrefix}/warm-up/${shape.id}`;
  const job = jobFor(shape, 0, base, pool, options.work, backend.name);
  await mkdir(job.downloadDir, { recursive: true });
  try {
    await uploadUntimed(pool, { ...job, uploadPrefix: job.downloadPrefix });
    await pool.beforeDownload?.(job);
    await pool.download(job);
  } finally {
    await removeDir(job.downloadDir);
    await deleteUnder(backend, `${base}/`);
  }
  options.log(`${backend.name} ${shape.label} warm-up round (untimed): done`);
}

/** The pool's upload outside any clock: the warm-up's, and each run's objects for every client to download. */
async function uploadUntimed(pool: TransferClient, job: TransferJob): Promise<void> {
  await pool.beforeUpload?.(job);
  await pool.upload(job);
}

function jobFor(shape: TransferShape, run: number, base: string, client: TransferClient, work: string, backend: string): TransferJob {
  return {
    shape,
    run,
    uploadPrefix: `${base}/${client.id}`,
    downloadPrefix: `${base}/source`,
    downloadDir: join(work, 'downloads', `${backend}-${shape.id}-r${run}-${client.id}`),
  };
}

async function timed(shape: TransferShape, r: number, where: { serverPid?: (() => number | undefined) | undefined; work: string }, work: () => Promise<void>): Promise<TransferRun> {
  await run('sync');
  const loadAverage = round(loadavg()[0]!, 2);
  const probe = startCpuProbe(where.serverPid?.());
  const diskProbe = startDiskProbe(where.work);
  const started = performance.now();
  await work();
  const seconds = (performance.now() - started) / 1000;
  const cpu = probe();
  const disk = diskProbe();
  const syncStarted = performance.now();
  await run('sync');
  return {
    run: r,
    seconds: round(seconds, 3),
    writeBackSeconds: round((performance.now() - syncStarted) / 1000, 3),
    megabytesPerSecond: round(shape.totalBytes / 1e6 / seconds, 1),
    clientCpuSeconds: round(cpu.processSeconds + cpu.childSeconds, 2),
    clientSystemCpuSeconds: round(cpu.systemSeconds, 2),
    serverCpuSeconds: cpu.serverSeconds === undefined ? undefined : round(cpu.serverSeconds, 2),
    machineCpuSeconds: cpu.machineSeconds === undefined ? undefined : round(cpu.machineSeconds, 2),
    loadAverage,
    disk: disk && { readBytes: disk.bytesRead, writtenBytes: disk.bytesWritten, busySeconds: round(disk.busySeconds, 3) },
  };
}

/** The median of the values measured, rounded to `digits`; undefined when none were. */
function medianOf(values: Array<number | undefined>, digits: number): number | undefined {
  const known = values.filter((value) => value !== undefined);
  return known.length ? round(median(known), digits) : undefined;
}

function summarize(backend: string, shape: TransferShape, direction: Direction, client: TransferClient, runs: TransferRun[]): TransferCase {
  const gib = shape.totalBytes / GiB;
  const server = runs.filter((r) => r.serverCpuSeconds !== undefined);
  /** The median of `seconds` per GiB over the runs that measured it; undefined when none did. */
  const medianPerGiB = (seconds: Array<number | undefined>) => medianOf(seconds.map((value) => (value === undefined ? undefined : value / gib)), 2);
  return {
    backend,
    shape: shape.id,
    direction,
    client: client.id,
    kind: client.kind,
    label: client.label,
    concurrency: client.concurrency,
    computes: client.computes?.[direction],
    bytes: shape.totalBytes,
    files: shape.files.length,
    runs,
    megabytesPerSecond: spread(runs.map((r) => r.megabytesPerSecond)),
    clientCpuSecondsPerGiB: round(median(runs.map((r) => r.clientCpuSeconds / gib)), 2),
    clientSystemCpuSecondsPerGiB: medianPerGiB(runs.map((r) => r.clientSystemCpuSeconds)),
    serverCpuSecondsPerGiB: medianPerGiB(runs.map((r) => r.serverCpuSeconds)),
    serverCpuPercent: server.length ? Math.round(median(server.map((r) => (100 * r.serverCpuSeconds!) / r.seconds))) : undefined,
    writeBackSeconds: medianOf(runs.map((r) => r.writeBackSeconds), 3),
    durableMegabytesPerSecond: medianOf(runs.map((r) => (r.writeBackSeconds === undefined ? undefined : shape.totalBytes / 1e6 / (r.seconds + r.writeBackSeconds))), 1),
    diskWrittenPerByte: medianOf(runs.map((r) => r.disk && r.disk.writtenBytes / shape.totalBytes), 2),
    diskBusyPercent: medianOf(runs.map((r) => r.disk && (100 * r.disk.busySeconds) / r.seconds), 0),
  };
}

/** Ours (`pool`, `tiered`) against every other client, per case, paired run by run. */
export function ratiosOf(cases: readonly TransferCase[]): TransferRatio[] {
  const ratios: TransferRatio[] = [];
  for (const ours of cases.filter((c) => c.kind === 'ours')) {
    for (const other of cases.filter((c) => c.kind !== 'ours' && c.backend === ours.backend && c.shape === ours.shape && c.direction === ours.direction)) {
      const paired = ours.runs.flatMap((run) => {
        const theirs = other.runs.find((o) => o.run === run.run);
        return theirs ? [run.megabytesPerSecond / theirs.megabytesPerSecond] : [];
      });
      if (paired.length === 0) continue;
      const s = spread(paired);
      ratios.push({ backend: ours.backend, shape: ours.shape, direction: ours.direction, ours: ours.client, other: other.client, median: s.median, min: s.min, max: s.max, exactMedian: median(paired) });
    }
  }
  return ratios;
}

/**
 * Reads `paths` through, outside the clock, so every upload starts with the shape in the page
 * cache, as the first after its generation does. Without it the order decided who read from the
 * disk: rclone drops what it read from the cache (fadvise DONTNEED), so the client after it read
 * the shape from the disk (in 2026-11-27T09-22-19-009Z, mc after rclone in four runs of five: its
 * one run after the pool made 402 MB/s up to MinIO, the four others 240–290).
 */
export async function intoPageCache(paths: readonly string[]): Promise<void> {
  for (const path of paths) for await (const _ of createReadStream(path, { highWaterMark: 1 << 20 }));
}

/**
 * Drops `paths` from the page cache (clean pages: after the `sync`), outside the clock, so every
 * download from the fs backend reads its objects from the disk, as the pool's direct reads always
 * do. Without it the order decided: whoever read the objects through the cache left them there
 * for the next (in 2026-11-27T09-22-19-009Z copyFile after rclone read 2 MB of each 1 GiB from
 * the disk, and rclone, in the one run it came after copyFile, none; the pool, reading direct,
 * 1074 MB in every run).
 */
export async function outOfPageCache(paths: readonly string[]): Promise<void> {
  if (paths.length === 0) return;
  await run('bash', ['-c', 'for f; do dd if="$f" iflag=nocache count=0 status=none || exit 1; done', 'drop', ...paths]);
}

/** Every file of the shape stored under the job's upload prefix, at its size, and nothing else; throws naming the client otherwise. */
export async function checkUploaded(backend: BenchBackend, job: TransferJob, client: string): Promise<void> {
  const stored = new Map<string, number>();
  for await (const object of backend.store.list(`${job.uploadPrefix}/`)) stored.set(object.key, object.size);
  const wrong: string[] = [];
  for (const file of job.shape.files) {
    const key = `${job.uploadPrefix}/${file.relative}`;
    const size = stored.get(key);
    if (size !== file.bytes) wrong.push(`${key}: ${size === undefined ? 'missing' : `${size} bytes, not ${file.bytes}`}`);
    stored.delete(key);
  }
  wrong.push(...[...stored.keys()].map((key) => `${key}: not a file of the shape`));
  if (wrong.length) throw new Error(`${client}'s upload of ${job.shape.label} (run ${job.run}) is not the shape's files: ${wrong.slice(0, 5).join('; ')}${wrong.length > 5 ? `; and ${wrong.length - 5} more` : ''}`);
}

/** Every file of the shape where the client's download put it, with the corpus's size, CRC32C and SHA-256; throws naming the client otherwise. */
export async function checkDownloaded(job: TransferJob, client: TransferClient): Promise<void> {
  const wrong: string[] = [];
  for (const file of job.shape.files) {
    const path = client.downloadedPath?.(job, file) ?? join(job.downloadDir, file.relative);
    const sums = await checksumLocalFile(path).catch((error: unknown) => error as Error);
    if (sums instanceof Error) wrong.push(`${path}: ${sums.message}`);
    else if (sums.size !== file.bytes || sums.crc32c !== file.checksums.crc32c || sums.sha256 !== file.checksums.sha256) {
      wrong.push(`${path}: ${sums.size} bytes, CRC32C ${sums.crc32c}, SHA-256 ${sums.sha256}; the corpus has ${file.bytes}, ${file.checksums.crc32c}, ${file.checksums.sha256}`);
    }
  }
  if (wrong.length) throw new Error(`${client.id}'s download of ${job.shape.label} (run ${job.run}) is not the shape's files: ${wrong.slice(0, 3).join('; ')}${wrong.length > 3 ? `; and ${wrong.length - 3} more` : ''}`);
}

async function deleteUnder(backend: BenchBackend, prefix: string): Promise<void> {
  const keys: string[] = [];
  for await (const object of backend.store.list(prefix)) keys.push(object.key);
  await backend.store.delete(keys);
}

function describe(run: TransferRun): string {
  const server = run.serverCpuSeconds === undefined ? '' : `, server ${run.serverCpuSeconds} CPU-s`;
  const system = run.clientSystemCpuSeconds === undefined ? '' : ` (${run.clientSystemCpuSeconds} system)`;
  const busy = run.machineCpuSeconds === undefined ? '' : `, ${round(run.machineCpuSeconds / run.seconds, 2)} cores busy`;
  const disk = run.disk && `, disk read ${round(run.disk.readBytes / 1e6, 0)} MB, wrote ${round(run.disk.writtenBytes / 1e6, 0)} MB, busy ${Math.round((100 * run.disk.busySeconds) / run.seconds)} %`;
  return `${run.megabytesPerSecond} MB/s (${run.seconds} s, client ${run.clientCpuSeconds} CPU-s${system}${server}${busy}${disk ?? ''}, load ${run.loadAverage})`;
}
