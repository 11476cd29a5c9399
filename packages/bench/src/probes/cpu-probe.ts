import { readFileSync } from 'node:fs';

/** Linux's clock ticks per second for /proc times (USER_HZ; 100 on every mainstream kernel). */
const TICKS_PER_SECOND = 100;

/** CPU seconds spent while some work ran: by this process, by the child processes it ran, by a server. */
export interface CpuSpent {
  /** This process, all its threads (the main thread and every pool worker). */
  processSeconds: number;
  /** Child processes that ended meanwhile (rclone, mc, sha256sum), from this process's `cutime + cstime`. */
  childSeconds: number;
  /** The kernel's share of `processSeconds + childSeconds` (system time: syscalls, page faults, the page cache). */
  systemSeconds: number;
  /** The server the work talked to, from `/proc/<pid>/stat`; undefined without one. */
  serverSeconds?: number | undefined;
  /**
   * Every CPU's busy time meanwhile, from `/proc/stat` (all but idle and iowait): this process,
   * the server, and what neither is charged for, the kernel's own threads (writeback, the
   * journal, softirqs) and anything else running. Undefined where `/proc/stat` is unreadable.
   */
  machineSeconds?: number | undefined;
}

/** A /proc file's text; undefined where it cannot be read (no /proc, or the process has ended). */
function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** user + system ticks of `pid` (fields 14 and 15 of `/proc/<pid>/stat`), and of its waited-for children (16, 17; 17 alone is their system time). */
function procTimes(pid: number | 'self'): { own: number; children: number; childrenSystem: number } | undefined {
  const stat = readProc(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const at = (field: number) => Number(fields[field - 3]);
  return { own: (at(14) + at(15)) / TICKS_PER_SECOND, children: (at(16) + at(17)) / TICKS_PER_SECOND, childrenSystem: at(17) / TICKS_PER_SECOND };
}

/** Busy seconds of all CPUs since boot: the first line of `/proc/stat` less idle and iowait (fields 4 and 5). */
function machineBusy(): number | undefined {
  const stat = readProc('/proc/stat');
  if (stat === undefined) return undefined;
  // cpu user nice system idle iowait irq softirq steal guest guest_nice; guest time is in user already.
  const ticks = stat.slice(0, stat.indexOf('\n')).trim().split(/\s+/).slice(1, 9).map(Number);
  const busy = ticks.reduce((sum, value, i) => (i === 3 || i === 4 ? sum : sum + value), 0);
  return busy / TICKS_PER_SECOND;
}

/** Starts counting; the returned function tells what was spent since. */
export function startCpuProbe(serverPid?: number): () => CpuSpent {
  const usage = process.cpuUsage();
  const self = procTimes('self');
  const server = serverPid === undefined ? undefined : procTimes(serverPid);
  const machine = machineBusy();
  return () => {
    const used = process.cpuUsage(usage);
    const selfNow = procTimes('self');
    const serverNow = serverPid === undefined ? undefined : procTimes(serverPid);
    const machineNow = machineBusy();
    return {
      processSeconds: (used.user + used.system) / 1e6,
      childSeconds: self && selfNow ? selfNow.children - self.children : 0,
      systemSeconds: used.system / 1e6 + (self && selfNow ? selfNow.childrenSystem - self.childrenSystem : 0),
      serverSeconds: server && serverNow ? serverNow.own - server.own : undefined,
      machineSeconds: machine !== undefined && machineNow !== undefined ? machineNow - machine : undefined,
    };
  };
}
