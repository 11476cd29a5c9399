import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, unlink, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { PROTOCOL_OBSERVER, createContainer, loadConfig, openTieredStorage, type BackendProvider, type ProtocolStep, type TieredStorage } from '@takhin/core';
import { writeSegment } from '../segments/segment-generator.js';

/** What the tiering suite needs from a backend: its provider and a config section for a prefix. */
export interface TieringSubject {
  providers: readonly BackendProvider[];
  /**
   * The `storage.tiered` keys for this backend (`backend` and its section, as in `takhin.yaml`),
   * its objects under `prefix`; create the bucket or container first.
   */
  section(prefix: string): Record<string, unknown> | Promise<Record<string, unknown>>;
  cleanup?(): Promise<void>;
}

const HOUR = 3_600_000;
const KiB = 1024;

/** Three closed segments of one partition and its active one; one `.log` spans several parts. */
const SEGMENT_LOG_BYTES = [200 * KiB, 1536 * KiB, 6 * 1024 * KiB + 123, 50 * KiB];

/** One broker of the suite: its tiered storage as last opened, and the bytes it started with. */
export interface Broker {
  tiered: TieredStorage;
  dataDir: string;
  config: ReturnType<typeof loadConfig>;
  /** `path` → extension → SHA-256 of the bytes generated. */
  originals: Map<string, Record<string, string>>;
  closed: string[];
}

/**
 * The tiering suite's brokers: each starts with a data dir of its own (the segments of
 * `SEGMENT_LOG_BYTES`, old enough for the policy to archive the closed ones) and a key prefix of
 * its own, and is opened the way a user opens one (`loadConfig`, `createContainer`,
 * `openTieredStorage`). Every instance opened is closed by `tearDown`, whatever a case left.
 */
export class TieringBrokers {
  readonly #run = `${process.pid}-${Date.now().toString(36)}`;
  #work = '';
  #started = 0;
  readonly #open: TieredStorage[] = [];

  constructor(
    private readonly name: string,
    private readonly subject: TieringSubject,
  ) {}

  async setUp(): Promise<void> {
    this.#work = await mkdtemp(join(tmpdir(), `takhin-tiering-${this.name}-`));
  }

  async tearDown(): Promise<void> {
    await Promise.allSettled(this.#open.map((tiered) => tiered.close()));
    await rm(this.#work, { recursive: true, force: true });
    await this.subject.cleanup?.();
  }

  /** A broker data dir of its own (and a key prefix of its own), opened through the DI wiring. */
  async start(options: { observer?: (step: ProtocolStep) => void } = {}): Promise<Broker> {
    const n = this.#started++;
    const dataDir = join(this.#work, `broker-${n}`, 'data');
    const originals = new Map<string, Record<string, string>>();
    const closed: string[] = [];
    for (const [i, logBytes] of SEGMENT_LOG_BYTES.entries()) {
      const segment = await writeSegment(dataDir, { topic: 'orders.v2', partition: 1, baseOffset: BigInt(i * 10_000), logBytes });
      const time = new Date(Date.now() - (400 - i) * HOUR);
      const sums: Record<string, string> = {};
      for (const [extension, file] of Object.entries(segment.files)) {
        await utimes(file, time, time);
        sums[extension] = await sha256File(file);
      }
      originals.set(segment.segmentPath, sums);
      if (i < SEGMENT_LOG_BYTES.length - 1) closed.push(segment.segmentPath);
    }
    const section = await this.subject.section(`tiering-${this.#run}-${n}`);
    const config = loadConfig({ storage: { data: { dir: dataDir }, tiered: { enabled: true, ...section } } }, { providers: this.subject.providers });
    const container = createContainer(config, this.subject.providers);
    if (options.observer) {
      const observe = options.observer;
      container.register(PROTOCOL_OBSERVER, { useValue: { reached: (step: ProtocolStep) => observe(step) } });
    }
    const tiered = await openTieredStorage(container);
    this.#open.push(tiered);
    return { tiered, dataDir, config, originals, closed };
  }

  /** Closes the broker, deletes its SQLite file (a lost metadata file) and opens it again. */
  async reopenWithoutMetadata(b: Broker): Promise<TieredStorage> {
    await b.tiered.close();
    const file = b.config.storage.tiered.metadata.path!;
    await Promise.all(['', '-wal', '-shm'].map((suffix) => unlink(`${file}${suffix}`).catch(() => {})));
    return this.#reopen(b);
  }

  /** Closes the broker and opens its data dir again, metadata and all (a restart, which reconciles). */
  async restart(b: Broker): Promise<TieredStorage> {
    await b.tiered.close();
    return this.#reopen(b);
  }

  async #reopen(b: Broker): Promise<TieredStorage> {
    const again = await openTieredStorage(createContainer(b.config, this.subject.providers));
    this.#open.push(again);
    return again;
  }
}

/** An observer failing the operation once, right after `at`: what a crash there leaves, without the crash. */
export function failOnceAt(at: ProtocolStep): (step: ProtocolStep) => void {
  let failed = false;
  return (step) => {
    if (step !== at || failed) return;
    failed = true;
    throw new Error(`injected failure after ${at}`);
  };
}

/** The keys the cold store holds under the segment's (its files and manifest). */
export async function keysOf(tiered: TieredStorage, path: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of tiered.store.list(path.slice(0, -'log'.length))) keys.push(object.key);
  return keys.sort();
}

/** Extension → SHA-256 of the segment's local files; fails on a temp file left beside them. */
export async function localSums(b: Broker, path: string): Promise<Record<string, string>> {
  const dir = join(b.dataDir, path.split('/')[0]!);
  const base = path.split('/')[1]!.slice(0, 20);
  const sums: Record<string, string> = {};
  for (const name of await readdir(dir)) {
    if (!name.includes(base)) continue;
    expect(name.startsWith('.'), `temp file left behind: ${name}`).toBe(false);
    sums[name.slice(21)] = await sha256File(join(dir, name));
  }
  return sums;
}

export async function sha256File(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}
