/** `value` rounded to `digits` decimal places, as every table and JSON result reports it. */
export function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Summary of the runs: median, min and max. */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

export function spread(values: readonly number[]): Spread {
  return { median: round(median(values), 2), min: round(Math.min(...values), 2), max: round(Math.max(...values), 2) };
}

/** `items` starting at index `by` (modulo its length), wrapping round: who goes first in a run. */
export function rotate<T>(items: readonly T[], by: number): T[] {
  const n = by % items.length;
  return [...items.slice(n), ...items.slice(0, n)];
}
