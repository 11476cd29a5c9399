import { median, round } from '../numbers.js';
import type { TransferCase } from './throughput.js';
import type { ChecksumName } from './transfer-client.js';
import type { VerificationCost } from './verification-cost.js';

/** What one client's runs cost the machine, per GiB moved (medians over the runs). */
export interface CpuAccount {
  client: string;
  clientCpuSecondsPerGiB: number;
  serverCpuSecondsPerGiB?: number | undefined;
  /** Client and server together: what the machine's cores paid for each GiB. */
  totalCpuSecondsPerGiB: number;
  /**
   * Cores kept busy on average: every CPU's busy seconds ÷ wall seconds (`machineCpuSeconds`:
   * the kernel's own threads too), or client + server where a run did not measure it.
   */
  coresBusy: number;
  serverCpuPercent?: number | undefined;
}

/**
 * What a run's own measurements show about a missed target; any number may hold, none means
 * the miss is unexplained.
 * - `verification`: the machine's cores were saturated, and ours, less the checksums it
 *   computes and the other client is known not to, spent no more CPU per GiB than the other.
 *   A statement about CPU, not a promise of the time saved without them: a download with its
 *   SHA-256 skipped went from 0.77× to 0.84× of mc, its cores then partly idle.
 * - `write-back`: counted until the bytes were on disk, ours was at least as fast: the other
 *   left its bytes in the page cache, for the untimed `sync` after its clock (a tenth of its
 *   clock's time or more), where ours fsyncs inside its own.
 * - `server`: the cores were not saturated, ours (less the checksums it computes and the other
 *   is known not to) spent no more CPU per GiB than the other, and the server ran at a core or
 *   more with both: the server's own work set the pace.
 */
export type MissReason = 'verification' | 'write-back' | 'server';

export interface MissExplanation {
  reasons: MissReason[];
  ours: CpuAccount;
  other: CpuAccount;
  /** The checksums ours computes and the other does not; absent when the other's are not known. */
  skipped?: ChecksumName[] | undefined;
  /** Their CPU seconds per GiB on one thread (from `measureVerificationCost`). */
  skippedCpuSecondsPerGiB?: number | undefined;
  cores: number;
  /** The accounting, then a sentence per reason, or why none holds. */
  text: string;
}

/** Busy cores, as a share of the machine's, from which a run counts as CPU-bound. */
export const SATURATED = 0.85;
/** Write-back after the clock, as a share of the clock's seconds, from which it is a reason at all. */
const MATERIAL_WRITE_BACK = 0.1;

/**
 * Reads a missed target's causes off the run's own measurements (rules in `MissReason`).
 * The checksums are credited only against a client known to compute none of them; the pair
 * CRC32C + SHA-256 is measured (and credited) as one, as core's accumulator computes it, and
 * SHA-256 alone where ours computes no CRC32C (a download checked against both recorded checksums).
 */
export function explainMiss(ours: TransferCase, other: TransferCase, cost: VerificationCost, cores: number): MissExplanation {
  const o = account(ours);
  const x = account(other);
  const credited = ours.computes && other.computes ? creditable(ours.computes, other.computes, cost) : undefined;
  const skipped = credited?.names.length ? credited.names : undefined;
  const skippedCost = skipped && credited!.seconds;
  const saturated = Math.min(o.coresBusy, x.coresBusy) >= SATURATED * cores;
  /** Ours less the checksums the other does not compute: what the `verification` and `server` rules compare. */
  const oWithoutSkipped = o.totalCpuSecondsPerGiB - (skippedCost ?? 0);
  const reasons: MissReason[] = [];
  const said: string[] = [
    `${o.coresBusy} and ${x.coresBusy} of ${cores} cores busy (${saturated ? '' : 'not '}CPU-bound); per GiB ours spent ${o.totalCpuSecondsPerGiB} CPU-s (${parts(o)}), ${other.client} ${x.totalCpuSecondsPerGiB} (${parts(x)})` +
      (skipped ? `; ${skippedCost} of ours is computing ${skipped.join(' + ')}, which ${other.client} does not.` : '.'),
  ];
  if (saturated && skipped && oWithoutSkipped <= x.totalCpuSecondsPerGiB) {
    reasons.push('verification');
    said.push(`Without the checksums ours would spend ${round(oWithoutSkipped, 2)}: they are the difference in CPU.`);
  }
  const [oDurable, xDurable] = [ours.durableMegabytesPerSecond, other.durableMegabytesPerSecond];
  const leftToSync = (other.writeBackSeconds ?? 0) >= MATERIAL_WRITE_BACK * median(other.runs.map((r) => r.seconds));
  if (oDurable !== undefined && xDurable !== undefined && oDurable >= xDurable && leftToSync && other.writeBackSeconds! > (ours.writeBackSeconds ?? 0)) {
    reasons.push('write-back');
    said.push(
      `Counted until the bytes were on disk ours was the faster, ${oDurable} against ${xDurable} MB/s: ${other.client} left ${other.writeBackSeconds} s of write-back per run to the untimed sync after its clock, ours ${ours.writeBackSeconds} s (it fsyncs inside its clock)` +
        (ours.diskWrittenPerByte !== undefined && other.diskWrittenPerByte !== undefined
          ? `; within the clocks the disk wrote ${ours.diskWrittenPerByte} and ${other.diskWrittenPerByte} bytes per byte moved.`
          : '.'),
    );
  }
  const serverAtACore = (o.serverCpuPercent ?? 0) >= 100 && (x.serverCpuPercent ?? 0) >= 100;
  // Checksums are credited as for `verification`: on cores left idle they slow nothing down.
  if (!saturated && serverAtACore && oWithoutSkipped <= x.totalCpuSecondsPerGiB) {
    reasons.push('server');
    const lessChecksums = o.totalCpuSecondsPerGiB > x.totalCpuSecondsPerGiB ? ' less its checksums' : '';
    said.push(
      `Ours${lessChecksums} spent no more CPU per GiB than ${other.client}, and the server ran at ${o.serverCpuPercent} % and ${x.serverCpuPercent} % of one core: its own work set the pace.`,
    );
  }
  if (reasons.length === 0) said.push('Neither the checksums, the write-back nor the server account for the difference.');
  return { reasons, ours: o, other: x, skipped, skippedCpuSecondsPerGiB: skippedCost, cores, text: said.join(' ') };
}

function account(c: TransferCase): CpuAccount {
  const server = c.serverCpuSecondsPerGiB;
  return {
    client: c.client,
    clientCpuSecondsPerGiB: c.clientCpuSecondsPerGiB,
    serverCpuSecondsPerGiB: server,
    totalCpuSecondsPerGiB: round(c.clientCpuSecondsPerGiB + (server ?? 0), 2),
    coresBusy: round(median(c.runs.map((r) => (r.machineCpuSeconds ?? r.clientCpuSeconds + (r.serverCpuSeconds ?? 0)) / r.seconds)), 2),
    serverCpuPercent: c.serverCpuPercent,
  };
}

function parts(a: CpuAccount): string {
  return a.serverCpuSecondsPerGiB === undefined ? 'client' : `client ${a.clientCpuSecondsPerGiB} + server ${a.serverCpuSecondsPerGiB}`;
}

/**
 * The checksums ours computes and the other does not, as far as they were measured: MD5 alone,
 * CRC32C + SHA-256 only as the pair (the other computing neither), and SHA-256 alone where ours
 * computes no CRC32C.
 */
function creditable(mine: readonly ChecksumName[], theirs: readonly ChecksumName[], cost: VerificationCost): { names: ChecksumName[]; seconds: number } {
  const lacks = (name: ChecksumName) => mine.includes(name) && !theirs.includes(name);
  const names: ChecksumName[] = [];
  let seconds = 0;
  if (lacks('CRC32C') && lacks('SHA-256')) {
    names.push('CRC32C', 'SHA-256');
    seconds += cost.crc32cSha256;
  } else if (lacks('SHA-256') && !mine.includes('CRC32C') && cost.sha256 !== undefined) {
    names.push('SHA-256');
    seconds += cost.sha256;
  }
  if (lacks('MD5')) {
    names.push('MD5');
    seconds += cost.md5;
  }
  return { names, seconds: round(seconds, 2) };
}
