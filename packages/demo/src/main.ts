import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import {
  OffsetIndex,
  createContainer,
  decodeRecords,
  loadConfig,
  openFileRangeReader,
  openTieredStorage,
  readBatches,
  type SegmentRecord,
  type TieredStorage,
} from '@takhin/core';
import { provider as fsProvider } from '@takhin/backend-fs';
import { writeBrokerLogDir, type BrokerLogDirManifest } from '@takhin/testkit/standalone';

const DAY = 24 * 3_600_000;
const MiB = 1024 * 1024;

/**
 * npm run demo: the main job on the embedded default. Makes a Kafka broker log dir (three
 * topics × two partitions, segments of real record batches and indexes, two weeks of mtimes,
 * internal topics and what a broker leaves lying around), opens tiered storage through
 * `loadConfig` → `createContainer` → `openTieredStorage` (FS cold store beside the data dir,
 * SQLite metadata), prints the plan, runs one cycle, prints the segments by tier and the stats,
 * then reads an old offset back (its segment restored and verified byte for byte).
 */
async function main(): Promise<number> {
  const home = resolve('.demo');
  await rm(home, { recursive: true, force: true });
  const dataDir = join(home, 'kafka-logs');
  const started = performance.now();

  const manifest = await writeBrokerLogDir(dataDir, {
    topics: [
      { name: 'orders.v1-events', partitions: 2, segments: 6, segmentBytes: 2 * MiB },
      { name: 'payments-ledger', partitions: 2, segments: 5, segmentBytes: MiB, transactions: { batchesPerTransaction: 2, abortEvery: 4 } },
      { name: 'clickstream.raw', partitions: 2, segments: 4, segmentBytes: 3 * MiB },
    ],
    mtimeSpanMs: 14 * DAY,
    preallocatedIndexBytes: MiB,
    leftovers: false,
  });
  const originals = await fingerprintSegments(manifest);
  const configFile = join(home, 'takhin.yaml');
  await writeFile(
    configFile,
    ['storage:', '  data.dir: ./kafka-logs', '  tiered:', '    enabled: true', '    backend: fs  # the embedded default', '    cold.age.hours: 168', '    warm.age.hours: 72', '    cache.chunk.size.mb: 0.25  # remote reads fetch 256 KiB chunks: the demo\'s segments are small (default 4)', ''].join('\n'),
  );

  heading(`Takhin Tiered Storage demo — a broker log dir of ${originals.size} segments`);
  console.log(`config      ${relative(process.cwd(), configFile)}`);
  const config = loadConfig(configFile, { env: process.env });
  const tiered = await openTieredStorage(createContainer(config, [fsProvider]));
  try {
    console.log(`data dir    ${config.storage.data.dir}`);
    console.log(`cold store  fs at ${String(config.storage.tiered.backends.fs?.root)}`);
    console.log(`metadata    sqlite at ${config.storage.tiered.metadata.path}`);

    heading('The plan (what a cycle would do; nothing moved yet)');
    const plan = tiered.plan();
    printTable(
      ['segment', 'from', 'to', 'action', 'rule', 'reason'],
      plan.map((step) => [step.path, step.from, step.to, step.action, step.rule, step.reason]),
    );

    heading('One cycle');
    const cycle = await tiered.runCycle();
    console.log(`archived ${cycle.archived}, retiered ${cycle.retiered}, evicted ${cycle.evicted}, failed ${cycle.failed} in ${(cycle.durationMs / 1000).toFixed(1)} s`);

    heading('Segments by tier');
    for (const tier of ['hot', 'warm', 'cold'] as const) {
      const segments = tiered.listSegments({ policy: tier });
      console.log(`${tier.padEnd(5)} ${String(segments.length).padStart(3)}  ${segments.map((s) => s.path).join(', ')}`);
    }
    heading('Stats');
    const stats = tiered.getStats();
    printTable(['', 'value'], Object.entries(stats).map(([name, value]) => [name, name.endsWith('Bytes') ? `${(value / MiB).toFixed(1)} MiB` : String(value)]));

    heading('Reading an old offset');
    const failures = await readOldOffset(tiered, manifest, originals);

    heading('Where everything is');
    console.log(`Kafka log dir       ${config.storage.data.dir}`);
    console.log(`cold store (fs)     ${String(config.storage.tiered.backends.fs?.root)}  (manifests: <segment>.log.manifest.json)`);
    console.log(`metadata (SQLite)   ${config.storage.tiered.metadata.path}`);
    console.log(`\nDone in ${((performance.now() - started) / 1000).toFixed(1)} s${failures === 0 ? '' : `, with ${failures} failure(s)`}.`);
    return failures === 0 && cycle.failed === 0 ? 0 : 1;
  } finally {
    await tiered.close();
  }
}

/** SHA-256 of every segment file as generated: what every archive and restore must preserve. */
async function fingerprintSegments(manifest: BrokerLogDirManifest): Promise<Map<string, Record<string, string>>> {
  const sums = new Map<string, Record<string, string>>();
  for (const partition of manifest.partitions) {
    for (const segment of partition.segments) {
      const files: Record<string, string> = {};
      for (const [extension, file] of Object.entries(segment.files)) {
        files[extension] = createHash('sha256').update(await readFile(join(manifest.dir, file))).digest('hex');
      }
      sums.set(segment.segmentPath, files);
    }
  }
  return sums;
}

/**
 * Finds the segment of an old offset (archived by the cycle), opens it (which restores it,
 * verified against its manifest), checks every file byte for byte against what was generated,
 * and decodes the record batch holding the offset through the offset index.
 */
async function readOldOffset(tiered: TieredStorage, manifest: BrokerLogDirManifest, originals: Map<string, Record<string, string>>): Promise<number> {
  const partition = manifest.partitions.find((p) => p.topic === 'orders.v1-events' && p.partition === 1)!;
  const old = partition.segments[1]!;
  const offset = Number(old.baseOffset + (old.nextOffset - old.baseOffset) / 2n);
  const before: SegmentRecord = tiered.findSegment(partition.topic, partition.partition, offset);
  console.log(`offset ${offset} of ${partition.topic}-${partition.partition} is in ${before.path} (${before.policy}${before.isArchived ? ', archived' : ''})`);
  // Read in place first: only the chunk holding the offset is fetched and verified; nothing is restored.
  const remote = await tiered.readAt(partition.topic, partition.partition, offset, { maxBytes: 1 });
  console.log(
    `readAt: batch at byte ${remote.position} (${remote.source}, ${remote.fetched.requests} requests, ${(remote.fetched.bytes / MiB).toFixed(1)} MiB fetched of a ${(before.size / MiB).toFixed(1)} MiB segment), next offset ${remote.nextOffset}; still ${tiered.getSegment(before.path).policy}`,
  );
  const opened = await tiered.openSegment(before.path);
  console.log(`opened: ${opened.segment.policy}, restored from the cold store and verified against its manifest`);

  let failures = 0;
  for (const [extension, expected] of Object.entries(originals.get(before.path)!)) {
    const path = opened.files[extension as 'log'];
    const actual = path && createHash('sha256').update(await readFile(path)).digest('hex');
    const same = actual === expected;
    if (!same) failures++;
    console.log(`  .${extension.padEnd(9)} sha256 ${expected.slice(0, 16)}…  ${same ? 'identical to the original' : `DIFFERENT (${actual?.slice(0, 16)}…)`}`);
  }

  const index = OffsetIndex.parse(await readFile(opened.files.index!), BigInt(opened.segment.baseOffset));
  const reader = await openFileRangeReader(opened.files.log);
  try {
    const fetched = await readBatches(reader.read, { startPosition: index.lookup(BigInt(offset)).position, targetOffset: BigInt(offset), maxBytes: 1 });
    if (fetched === undefined) throw new Error(`offset ${offset} is past the end of ${before.path}`);
    const { header } = fetched.batches[0]!;
    const record = decodeRecords(fetched.bytes.subarray(0, header.sizeInBytes)).find((r) => r.offset === BigInt(offset));
    console.log(`  batch at byte ${fetched.position}: offsets ${header.baseOffset}–${header.lastOffset}, CRC-32C verified`);
    console.log(`  record ${offset}: key ${record?.key?.toString() ?? 'null'}, ${record?.value?.length ?? 0} value bytes`);
    if (record === undefined) failures++;
  } finally {
    await reader.close();
  }
  return failures;
}

function heading(text: string): void {
  console.log(`\n== ${text}`);
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
}

process.exitCode = await main();
