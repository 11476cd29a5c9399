import type { OperationFailure, SegmentRecord, Tier, TransferSummary } from '@takhin/core';
import { cycleJson } from '../../api/wire-format.js';
import type { Command } from '../command-context.js';
import { withDataDir } from '../command-context.js';
import { EXIT } from '../exit-codes.js';
import { formatBytes, printable } from '../human-format.js';

/**
 * `cycle`: one background-archiver cycle now (re-scan, plan, apply), its steps shown as they
 * finish, from the model's events.
 */
export const cycleCommand: Command = (context) =>
  withDataDir(context, async (tiered) => {
    const { output } = context;
    const steps = tiered.plan({ changesOnly: true });
    const archiveBytes = steps.filter((step) => step.action === 'archive').reduce((sum, step) => sum + tiered.getSegment(step.path).size, 0);
    const bar = output.progress('cycle', steps.length, archiveBytes);
    // Each step is counted before its line is printed: printing redraws the bar, which must show it done.
    const print = (line: string) => (bar ? bar.log(line) : output.line(line));
    const onArchived = (segment: SegmentRecord, summary: TransferSummary) => {
      bar?.tick(segment.size);
      print(`archived  ${segment.path}  ${formatBytes(summary.bytes)} in ${(summary.durationMs / 1000).toFixed(2)} s`);
    };
    const onEvicted = (segment: SegmentRecord) => {
      bar?.tick(0);
      print(`evicted  ${segment.path}`);
    };
    const onTier = (segment: SegmentRecord, from: Tier, to: Tier) => {
      if (from === 'cold' || to === 'cold') return; // archives and evictions are reported above
      bar?.tick(0);
      print(`retiered  ${segment.path}  ${from} -> ${to}`);
    };
    const onFailed = (failure: OperationFailure) => {
      bar?.tick(0);
      print(`FAILED  ${failure.operation} ${failure.path ?? ''}: ${printable(failure.error.message)}`);
    };
    tiered.on('segment:archived', onArchived).on('segment:evicted', onEvicted).on('segment:tier-changed', onTier).on('operation:failed', onFailed);
    try {
      const report = await tiered.runCycle();
      bar?.done();
      output.line(
        `cycle: ${report.planned} planned, ${report.archived} archived, ${report.evicted} evicted, ${report.retiered} retiered, ${report.failed} failed, ${report.deferred} deferred in ${(report.durationMs / 1000).toFixed(2)} s`,
      );
      output.document(cycleJson(report));
      return report.failed > 0 ? EXIT.OPERATION_FAILED : EXIT.OK;
    } finally {
      tiered.off('segment:archived', onArchived).off('segment:evicted', onEvicted).off('segment:tier-changed', onTier).off('operation:failed', onFailed);
    }
  });
