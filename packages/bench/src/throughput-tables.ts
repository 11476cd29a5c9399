import type { ThroughputResult } from './scenarios/throughput.js';
import type { TransferCase, TransferRatio } from './transfers/throughput.js';
import { SATURATED } from './transfers/target-bounds.js';

const CASES = [
  ['up', 'up'],
  ['down', 'down'],
] as const;

/** The throughput scenario as Markdown: MB/s, ratios, CPU, targets. */
export function renderThroughput(result: ThroughputResult): string[] {
  const { cases, ratios, shapes } = result;
  const backends = [...new Set(cases.map((c) => c.backend))];
  const columns = shapes.flatMap((shape) => CASES.map(([direction, word]) => ({ shape: shape.id, direction, title: `${shape.label} ${word}` })));
  /** A table's two header lines: backend, `second`, then one column per shape and direction. */
  const header = (second: string, align: string) => [`| backend | ${second} | ${columns.map((c) => c.title).join(' | ')} |`, `| --- | --- | ${columns.map(() => align).join(' | ')} |`];
  /** One row per backend and client: its name, then a cell per column (— where it has no such case). */
  const clientRows = (rowName: (c: TransferCase) => string, cell: (c: TransferCase) => string) =>
    backends.flatMap((backend) =>
      [...new Set(cases.filter((c) => c.backend === backend).map((c) => c.client))].map((client) => {
        const cells = columns.map((col) => {
          const c = find(cases, backend, col.shape, col.direction, client);
          return c ? cell(c) : '—';
        });
        return `| ${backend} | ${rowName(cases.find((c) => c.backend === backend && c.client === client)!)} | ${cells.join(' | ')} |`;
      }),
    );
  const lines: string[] = [
    `## Throughput: upload and download, ours beside rclone, mc and each SDK's default (median of ${result.runs} run${result.runs === 1 ? '' : 's'}, min–max)`,
    '',
    `Shapes: ${shapes.map((s) => `${s.label} (${s.files} files: each segment's .log, .index and .timeindex, ${(s.bytes / 1e6).toFixed(0)} MB)`).join('; ')}. MB = 10^6 bytes. Every client moves the same files against the same server in the same run; downloads read objects the pool uploaded, untimed, at the start of that run (archiveSegment/restoreSegment restores its own archive), and each upload is deleted once checked, so every upload meets the store as the one before it did. Ours computes CRC32C and SHA-256 on uploads, verifies every download's SHA-256 (which vouches for the CRC32C recorded with it) and fsyncs downloads; the others verify what their defaults verify and do not fsync. After each clock the bench checks every client's upload (keys, sizes) and download (size, CRC32C, SHA-256) against the corpus. Who goes first rotates a place each run, uploads and downloads alike; each upload starts with the files in the page cache, each download from fs with the objects out of it.`,
    '',
    ...header('client', '---:'),
    ...clientRows(
      (c) => c.label,
      (c) => `${c.megabytesPerSecond.median} (${c.megabytesPerSecond.min}–${c.megabytesPerSecond.max})`,
    ),
  ];
  lines.push(
    '',
    '### Ratios of ours to each other client (paired run by run: median (min–max))',
    '',
    ...header('ours', '---'),
  );
  for (const backend of backends) {
    for (const ours of ['pool', 'tiered']) {
      const cells = columns.map((col) =>
        ratios
          .filter((r) => r.backend === backend && r.ours === ours && r.shape === col.shape && r.direction === col.direction)
          .map((r) => `${formatRatio(r)} ${r.other}`)
          .join(', '),
      );
      lines.push(`| ${backend} | ${ours === 'pool' ? 'TransferPool' : 'archive/restore'} | ${cells.join(' | ')} |`);
    }
  }
  /** A table of one figure per client and case, under its own heading. */
  const perClient = (title: string, cell: (c: TransferCase) => string) => ['', `### ${title}`, '', ...header('client', '---:'), ...clientRows((c) => c.client, cell)];
  lines.push(
    ...perClient("CPU per GiB moved (median): client CPU-s (all threads and child processes; of which system time, where measured) / server CPU-s, and the server's CPU in % of one core", (c) => {
      const client = c.clientSystemCpuSecondsPerGiB === undefined ? `${c.clientCpuSecondsPerGiB}` : `${c.clientCpuSecondsPerGiB} (${c.clientSystemCpuSecondsPerGiB} sys)`;
      return c.serverCpuSecondsPerGiB === undefined ? client : `${client} / ${c.serverCpuSecondsPerGiB} (${c.serverCpuPercent} %)`;
    }),
  );
  if (cases.some((c) => c.writeBackSeconds !== undefined)) {
    lines.push(
      ...perClient(
        'Write-back left for after the clock: median seconds of the untimed `sync` after each run, and the MB/s had the clock run until the bytes were on disk (ours fsyncs every download inside its own time; most others leave their bytes in the page cache). The targets use the MB/s above.',
        (c) => (c.writeBackSeconds === undefined ? '' : `${c.writeBackSeconds} s (${c.durableMegabytesPerSecond} MB/s)`),
      ),
    );
  }
  if (cases.some((c) => c.diskWrittenPerByte !== undefined)) {
    lines.push(
      ...perClient(
        "The disk within the clock (`/proc/diskstats` of the disk under the work folder, every process's requests): bytes it wrote per byte moved, and the share of the clock it was busy (median)",
        (c) => (c.diskWrittenPerByte === undefined ? '' : `${c.diskWrittenPerByte} (${c.diskBusyPercent} %)`),
      ),
    );
  }
  const met = result.targets.filter((t) => t.met).length;
  lines.push(
    '',
    `### Targets (ours through the TransferPool; medians of the paired ratios): ${met} of ${result.targets.length} met`,
    '',
    '| backend | case | comparison | target | ratio | |',
    '| --- | --- | --- | ---: | ---: | --- |',
    ...result.targets.map((t) => {
      return `| ${t.backend} | ${shapeLabel(result, t.shape)} ${t.direction} | ${t.comparison} | ${t.target}× | ${t.ratio}× | ${t.met ? 'met' : '**missed**'} |`;
    }),
    ...missedBounds(result),
    '',
    `Clients: ${[...new Set(cases.map((c) => `${c.label} (${c.concurrency})`))].join('; ')}.`,
    '',
    'Versions: ' + Object.entries(result.versions).map(([tool, version]) => `${tool} ${version}`).join('; ') + '.',
    '',
  );
  return lines;
}

/** Each missed target with what the run's own measurements say bounded it (target-bounds.ts). */
function missedBounds(result: ThroughputResult): string[] {
  const missed = result.targets.filter((t) => t.why);
  if (missed.length === 0) return [];
  const { crc32cSha256, sha256, md5 } = result.verificationCost;
  return [
    '',
    `What bounded each missed target, from this run's own measurements (medians; CPU-s per GiB moved, client + server; cores busy: every CPU's busy time from /proc/stat ÷ wall seconds, CPU-bound from ${SATURATED * result.cores} of ${result.cores}; the rules: packages/bench/src/transfers/target-bounds.ts). Checksums on one thread here: CRC32C + SHA-256 ${crc32cSha256} CPU-s per GiB${sha256 === undefined ? '' : `, SHA-256 alone ${sha256}`}, MD5 ${md5}; ours is credited for them only against a client known to compute none of them.`,
    '',
    ...missed.map((t) => {
      return `- ${t.backend} ${shapeLabel(result, t.shape)} ${t.direction}, ${t.comparison} ${t.ratio}×: **${t.why!.reasons.join(', ') || 'unexplained'}**. ${t.why!.text}`;
    }),
  ];
}

/** How the tables name a shape: `64 × 16 MiB`. */
function shapeLabel(result: ThroughputResult, id: string): string {
  return result.shapes.find((s) => s.id === id)?.label ?? id;
}

function find(cases: readonly TransferCase[], backend: string, shape: string, direction: string, client: string): TransferCase | undefined {
  return cases.find((c) => c.backend === backend && c.shape === shape && c.direction === direction && c.client === client);
}

function formatRatio(r: TransferRatio): string {
  return `${r.median.toFixed(2)}× (${r.min.toFixed(2)}–${r.max.toFixed(2)})`;
}
