// Byte counts for people, the same in the dashboard and in the CLI (which imports this file,
// typed by bytes.d.ts): plain JavaScript, so the browser loads it as it is.

/** 1536 → "1.5 KiB". */
export function formatBytes(bytes) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}
