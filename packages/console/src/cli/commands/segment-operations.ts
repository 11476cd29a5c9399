import { localBytesOf, remoteBytesOf, type SegmentRecord, type TieredStorage } from '@takhin/core';
import { segmentJson } from '../../api/wire-format.js';
import { requireSegment } from '../../http/segment-path-param.js';
import type { Command, CommandContext } from '../command-context.js';
import { withDataDir } from '../command-context.js';
import { EXIT, UsageError } from '../exit-codes.js';
import { formatBytes, printable } from '../human-format.js';

type Operation = 'archive' | 'restore' | 'evict';

interface Outcome {
  readonly outcome: string;
  readonly bytes: number;
  readonly segment: SegmentRecord;
  /** Why an archive kept the local files (a running Kafka broker), when it did. */
  readonly kept?: string | undefined;
}

/** What each operation does, and how many bytes it will move (or free) for a segment. */
type Progress = (bytes: number) => void;

const OPERATIONS: Record<Operation, { past: string; bytes: (s: SegmentRecord) => number; run: (t: TieredStorage, path: string, onProgress: Progress) => Promise<Outcome> }> = {
  archive: {
    past: 'archived',
    bytes: localBytesOf,
    run: async (tiered, path, onProgress) => {
      const result = await tiered.archiveSegment(path, { onProgress });
      return { outcome: result.outcome, bytes: result.uploadedBytes, segment: result.segment, kept: result.localFilesKept };
    },
  },
  restore: {
    past: 'restored',
    bytes: remoteBytesOf,
    run: async (tiered, path, onProgress) => {
      const result = await tiered.restoreSegment(path, { onProgress });
      return { outcome: result.outcome, bytes: result.downloadedBytes, segment: result.segment };
    },
  },
  evict: {
    past: 'evicted',
    bytes: localBytesOf,
    run: async (tiered, path) => {
      const result = await tiered.evictSegment(path);
      return { outcome: result.outcome, bytes: result.freedBytes, segment: result.segment };
    },
  },
};

/** `archive <path…>` / `archive --due`, `restore <path…>`, `evict <path…>`. */
export function segmentOperation(operation: Operation): Command {
  return (context) =>
    withDataDir(context, async (tiered) => {
      const targets = chooseTargets(context, tiered, operation);
      return run(context, tiered, operation, targets);
    });
}

/**
 * The segments to work on, every one checked before the first is touched: one bad path and
 * nothing is done (exit 4).
 */
function chooseTargets(context: CommandContext, tiered: TieredStorage, operation: Operation): SegmentRecord[] {
  const { positionals, options } = context;
  if (options.due) {
    if (operation !== 'archive') throw new UsageError('--due applies to archive only');
    if (positionals.length > 0) throw new UsageError('archive takes segment paths or --due, not both');
    return tiered
      .plan({ changesOnly: true })
      .filter((item) => item.action === 'archive')
      .map((item) => tiered.getSegment(item.path));
  }
  if (positionals.length === 0) throw new UsageError(`${operation} needs at least one segment path (<topic>-<partition>/<20-digit base offset>.log)${operation === 'archive' ? ' or --due' : ''}`);
  const seen = new Map<string, SegmentRecord>();
  for (const input of positionals) {
    const segment = requireSegment(tiered, input);
    seen.set(segment.path, segment);
  }
  return [...seen.values()];
}

async function run(context: CommandContext, tiered: TieredStorage, operation: Operation, targets: SegmentRecord[]) {
  const { output } = context;
  const spec = OPERATIONS[operation];
  if (targets.length === 0) {
    output.line(`nothing to ${operation}: no segment is due`);
    output.document({ operation, succeeded: 0, failed: 0, bytes: 0, results: [] });
    return EXIT.OK;
  }
  const totalBytes = targets.reduce((sum, segment) => sum + spec.bytes(segment), 0);
  const bar = output.progress(operation, targets.length, totalBytes);
  const print = (line: string) => (bar ? bar.log(line) : output.line(line));
  const results: Record<string, unknown>[] = new Array(targets.length);
  let failed = 0;
  let moved = 0;

  const queue = targets.map((segment, index) => ({ segment, index }));
  const worker = async () => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      const { segment, index } = next;
      bar?.working(segment.path);
      const started = performance.now();
      let line: string;
      try {
        const done = await spec.run(tiered, segment.path, (bytes) => bar?.moving(segment.path, bytes));
        const seconds = (performance.now() - started) / 1000;
        moved += done.bytes;
        const kept = done.kept === undefined ? {} : { local_files_kept: done.kept };
        results[index] = { segment_path: segment.path, outcome: done.outcome, bytes: done.bytes, duration_ms: Math.round(seconds * 1000), ...kept, segment: segmentJson(done.segment) };
        line = `${done.outcome === spec.past ? spec.past : done.outcome}  ${segment.path}  ${formatBytes(done.bytes)} in ${seconds.toFixed(2)} s`;
        if (done.kept !== undefined) line += '  (local files kept: a running Kafka broker holds the log dir)';
      } catch (error) {
        failed++;
        const code = typeof (error as { code?: unknown }).code === 'string' ? (error as { code: string }).code : 'ERROR';
        results[index] = { segment_path: segment.path, outcome: 'failed', error: { code, message: (error as Error).message } };
        line = `FAILED  ${segment.path}: ${printable((error as Error).message)}`;
      }
      // Counted before its line is printed: printing redraws the bar, which must show it done.
      bar?.tick(spec.bytes(segment), segment.path);
      print(line);
    }
  };
  const concurrency = operation === 'evict' ? 1 : tiered.config.storage.tiered.archiveConcurrency;
  await Promise.all(Array.from({ length: Math.min(concurrency, targets.length) }, worker));
  bar?.done();

  const succeeded = targets.length - failed;
  output.line(`${spec.past} ${succeeded} of ${targets.length} segment${targets.length === 1 ? '' : 's'} (${formatBytes(moved)} ${operation === 'evict' ? 'freed' : 'moved'})${failed ? `, ${failed} failed` : ''}`);
  output.document({ operation, succeeded, failed, bytes: moved, results });
  return failed > 0 ? EXIT.OPERATION_FAILED : EXIT.OK;
}
