import type { TieredSettings } from '../config/takhin-config.js';
import type { SegmentRecord, Tier } from '../metadata/segment-record.js';

const HOUR_MS = 3_600_000;

export interface SegmentAges {
  readonly warmAgeHours: number;
  readonly coldAgeHours: number;
}

/** The ages that apply to `topic`: its override's, else the global ones. */
export function agesFor(settings: TieredSettings, topic: string): SegmentAges {
  const override = settings.topics[topic];
  return override === undefined
    ? settings
    : { warmAgeHours: override.warmAgeHours ?? settings.warmAgeHours, coldAgeHours: override.coldAgeHours ?? settings.coldAgeHours };
}

/**
 * Milliseconds since the segment was last written or used through this library: a restored
 * segment counts from its restore, so it is not sent straight back to the cold store.
 */
export function idleMs(segment: SegmentRecord, now: number): number {
  return now - Math.max(segment.lastModified, segment.lastAccessAt);
}

/** The tier the age rule gives a segment idle for `idle` ms under these ages. */
export function tierForAge(idle: number, ages: SegmentAges): Tier {
  if (idle >= ages.coldAgeHours * HOUR_MS) return 'cold';
  if (idle >= ages.warmAgeHours * HOUR_MS) return 'warm';
  return 'hot';
}
