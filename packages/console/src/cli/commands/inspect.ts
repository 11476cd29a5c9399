import { planItemJson, rebuildJson, segmentJson, statsDocument } from '../../api/wire-format.js';
import { requireSegment } from '../../http/segment-path-param.js';
import type { Command, CommandContext } from '../command-context.js';
import { withDataDir } from '../command-context.js';
import { EXIT, UsageError, type ExitCode } from '../exit-codes.js';
import { formatBytes, printable } from '../human-format.js';

/** `stats`: the same document as `GET /api/v1/tiered/stats`. */
export const statsCommand: Command = (context) =>
  withDataDir(context, async (tiered) => {
    noArguments(context.positionals, 'stats');
    const stats = statsDocument(tiered);
    const { output } = context;
    output.document(stats);
    output.line(`segments  ${stats.total_segments} (${stats.archived_segments} archived)`);
    output.line(`hot       ${stats.hot_segments} segments  ${formatBytes(stats.bytes_by_tier.hot)}`);
    output.line(`warm      ${stats.warm_segments} segments  ${formatBytes(stats.bytes_by_tier.warm)}`);
    output.line(`cold      ${stats.cold_segments} segments  ${formatBytes(stats.bytes_by_tier.cold)}`);
    output.line(`local     ${formatBytes(stats.local_bytes)}   remote ${formatBytes(stats.remote_bytes)}   .log total ${formatBytes(stats.total_size_bytes)}`);
    for (const postponed of tiered.lastReconciliation.postponed) output.line(`postponed: ${printable(postponed)}`);
    output.line(coldStoreLine(stats.cold_store));
    const cycle = stats.archiver.last_cycle;
    if (cycle) output.line(`last cycle ${cycle.failure ? `FAILED at ${iso(cycle.finished_at)}: ${failureLine(cycle.failure)}` : `ok at ${iso(cycle.finished_at)}`}`);
    return EXIT.OK;
  });

/** Whose the cold store's prefix is, for a person (docs/ARCHITECTURE.md, "The cold store's owner"). */
function coldStoreLine(store: ReturnType<typeof statsDocument>['cold_store']): string {
  const checked = store.checked_at === null ? 'never checked' : `checked ${iso(store.checked_at)}`;
  if (store.claim === 'owned') return `cold store ${store.backend}, prefix owned by this data dir (${checked})`;
  const why = store.error ? `: ${failureLine(store.error)}` : '';
  if (store.claim === 'claimed') return `cold store ${store.backend}, prefix CLAIMED by ${store.owner ? `${printable(store.owner.data_dir)} on ${printable(store.owner.host)}` : 'another data dir'} (${checked})${why}`;
  return `cold store ${store.backend}, claim UNCHECKED (${checked})${why}`;
}

function failureLine(failure: { code: string; message: string }): string {
  return `${failure.code}: ${printable(failure.message)}`;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** `status <path>`: one segment's record, as `GET /api/v1/tiered/segments/{path}`. */
export const statusCommand: Command = (context) =>
  withDataDir(context, async (tiered) => {
    if (context.positionals.length !== 1) throw new UsageError('status takes exactly one segment path');
    const segment = segmentJson(requireSegment(tiered, context.positionals[0]));
    const { output } = context;
    output.document(segment);
    output.line(`${segment.segment_path}`);
    output.line(`  policy       ${segment.policy}${segment.state === 'idle' ? '' : ` (${segment.state})`}`);
    output.line(`  archived     ${segment.is_archived ? `yes, ${segment.object_key ?? ''} at ${new Date(segment.archived_at ?? 0).toISOString()}` : 'no'}`);
    output.line(`  size         ${formatBytes(segment.size)} (.log)  files: ${Object.entries(segment.files).map(([e, f]) => `${e} ${formatBytes(f.size)}`).join(', ')}`);
    output.line(`  modified     ${new Date(segment.last_modified).toISOString()}   last access ${new Date(segment.last_access_at).toISOString()}`);
    return EXIT.OK;
  });

/** `plan`: what the next cycle would do, segment by segment (changes only). Changes nothing. */
export const planCommand: Command = (context) =>
  withDataDir(context, async (tiered) => {
    noArguments(context.positionals, 'plan');
    const items = tiered.plan({ changesOnly: true }).map(planItemJson);
    const { output } = context;
    output.document({ total: items.length, items });
    if (items.length === 0) output.line('nothing to do: every segment is where the policy wants it');
    for (const item of items) output.line(`${item.action.padEnd(7)} ${item.segment_path}  ${item.from} -> ${item.to}  (${item.rule}: ${printable(item.reason)})`);
    return EXIT.OK;
  });

/**
 * `rebuild [--take-over]`: recreates the metadata of archived segments from the cold store's
 * manifests; `--take-over` first makes the cold store's prefix this data dir's, whoever claimed it.
 */
export const rebuildCommand: Command = (context) => {
  noArguments(context.positionals, 'rebuild');
  return withDataDir(context, async (tiered) => printRebuild(context, rebuildJson(await tiered.rebuildFromColdStore())), { takeOverColdStore: context.options.takeOver });
};

function printRebuild({ output }: CommandContext, report: ReturnType<typeof rebuildJson>): ExitCode {
  output.document(report);
  output.line(`rebuild: ${report.manifests} manifests, ${report.created} records created, ${report.updated} updated, ${report.unarchived} unarchived, ${report.dropped} dropped`);
  for (const problem of report.problems) output.line(`problem: ${printable(problem)}`);
  return report.problems.length > 0 ? EXIT.OPERATION_FAILED : EXIT.OK;
}

function noArguments(positionals: readonly string[], command: string): void {
  if (positionals.length > 0) throw new UsageError(`${command} takes no arguments, got ${positionals.map((p) => JSON.stringify(printable(p))).join(' ')}`);
}
