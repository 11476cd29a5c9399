/** `value` rounded to `digits` decimal places, as every table and JSON result reports it. */
export function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
