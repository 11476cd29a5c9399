import { readFileSync, statSync } from 'node:fs';

/** Linux's sector unit in `/proc/diskstats`, whatever the device's own sector size. */
const SECTOR_BYTES = 512;

/** What the disk holding some path did while some work ran, from `/proc/diskstats`. */
export interface DiskSpent {
  /** The device's name (`vda`, `nvme0n1p2`). */
  device: string;
  bytesRead: number;
  bytesWritten: number;
  /**
   * Seconds the device had at least one request in flight (`io_ticks`): ÷ the work's wall
   * seconds, the share of the time it was busy. A device serving requests in parallel (an SSD,
   * a virtual disk) can be busy all the time and still take more.
   */
  busySeconds: number;
}

interface DiskCounters {
  sectorsRead: number;
  sectorsWritten: number;
  ioMilliseconds: number;
}

/**
 * The major:minor numbers of the device (or partition) a path lives on; undefined where it
 * cannot be read.
 */
function deviceNumbers(path: string): { major: number; minor: number } | undefined {
  let dev: number;
  try {
    dev = statSync(path).dev;
  } catch {
    return undefined;
  }
  // glibc's gnu_dev_major/minor: the 12-bit major in bits 8–19, the minor in bits 0–7 and 20–31.
  return { major: Math.floor(dev / 256) & 0xfff, minor: (dev & 0xff) | (Math.floor(dev / 4096) & 0xfff00) };
}

/** The device's `/proc/diskstats` fields now; undefined where there is no such line (no /proc, a tmpfs, an overlay). */
function diskstatsLine({ major, minor }: { major: number; minor: number }): string[] | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/diskstats', 'utf8');
  } catch {
    return undefined;
  }
  return text
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .find((fields) => fields.length >= 14 && Number(fields[0]) === major && Number(fields[1]) === minor);
}

function counters(fields: string[]): DiskCounters {
  // After major, minor, name: reads, merged, sectors read, ms reading, writes, merged, sectors written, ms writing, in flight, io_ticks.
  return { sectorsRead: Number(fields[5]), sectorsWritten: Number(fields[9]), ioMilliseconds: Number(fields[12]) };
}

/**
 * Starts counting what the disk under `path` does; the returned function tells what it did
 * since, or undefined where the device cannot be found. Counts every process's requests, the
 * server's and the kernel's write-back too: on a machine running nothing else, the work's.
 */
export function startDiskProbe(path: string): () => DiskSpent | undefined {
  const device = deviceNumbers(path);
  const first = device && diskstatsLine(device);
  return () => {
    const now = first && diskstatsLine(device!);
    if (first === undefined || now === undefined) return undefined;
    const [before, after] = [counters(first), counters(now)];
    return {
      device: first[2]!,
      bytesRead: (after.sectorsRead - before.sectorsRead) * SECTOR_BYTES,
      bytesWritten: (after.sectorsWritten - before.sectorsWritten) * SECTOR_BYTES,
      busySeconds: (after.ioMilliseconds - before.ioMilliseconds) / 1000,
    };
  };
}
