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
 * The `/proc/diskstats` line of the device (or partition) a path lives on, matched by its
 * major:minor numbers; undefined where there is none (no /proc, a tmpfs, an overlay).
 */
function deviceOf(path: string): { major: number; minor: number; name: string } | undefined {
  let dev: number;
  try {
    dev = statSync(path).dev;
  } catch {
    return undefined;
  }
  // glibc's gnu_dev_major/minor: the 12-bit major in bits 8–19, the minor in bits 0–7 and 20–31.
  const major = Math.floor(dev / 256) & 0xfff;
  const minor = (dev & 0xff) | (Math.floor(dev / 4096) & 0xfff00);
  const line = diskstatsLines().find((fields) => Number(fields[0]) === major && Number(fields[1]) === minor);
  return line === undefined ? undefined : { major, minor, name: line[2]! };
}

function diskstatsLines(): string[][] {
  try {
    return readFileSync('/proc/diskstats', 'utf8')
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter((fields) => fields.length >= 14);
  } catch {
    return [];
  }
}

function counters(major: number, minor: number): DiskCounters | undefined {
  const fields = diskstatsLines().find((f) => Number(f[0]) === major && Number(f[1]) === minor);
  if (fields === undefined) return undefined;
  // After major, minor, name: reads, merged, sectors read, ms reading, writes, merged, sectors written, ms writing, in flight, io_ticks.
  return { sectorsRead: Number(fields[5]), sectorsWritten: Number(fields[9]), ioMilliseconds: Number(fields[12]) };
}

/**
 * Starts counting what the disk under `path` does; the returned function tells what it did
 * since, or undefined where the device cannot be found. Counts every process's requests, the
 * server's and the kernel's write-back too: on a machine running nothing else, the work's.
 */
export function startDiskProbe(path: string): () => DiskSpent | undefined {
  const device = deviceOf(path);
  const before = device && counters(device.major, device.minor);
  return () => {
    const after = device && counters(device.major, device.minor);
    if (device === undefined || before === undefined || after === undefined) return undefined;
    return {
      device: device.name,
      bytesRead: (after.sectorsRead - before.sectorsRead) * SECTOR_BYTES,
      bytesWritten: (after.sectorsWritten - before.sectorsWritten) * SECTOR_BYTES,
      busySeconds: (after.ioMilliseconds - before.ioMilliseconds) / 1000,
    };
  };
}
