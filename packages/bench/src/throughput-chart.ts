import type { ThroughputResult } from './scenarios/throughput.js';

const COLORS: Record<string, string> = { pool: '#1f77b4', tiered: '#6baed6', rclone: '#ff7f0e', mc: '#d62728', sdk: '#2ca02c', copy: '#aaaaaa' };
const PANEL_WIDTH = 300;
const LABEL_WIDTH = 56;
const BAR = 13;
const GAP = 4;
const HEADER = 18;

/**
 * The throughput scenario as an SVG: one panel per backend (rows) and case (columns), one bar per
 * client at its median MB/s with a whisker from min to max. Each column has its own scale, so
 * the clients of one case compare at a glance across backends.
 */
export function renderThroughputSvg(result: ThroughputResult, title: string): string {
  const { cases, shapes } = result;
  const backends = [...new Set(cases.map((c) => c.backend))];
  const columns = shapes.flatMap((shape) => (['up', 'down'] as const).map((direction) => ({ shape: shape.id, direction, title: `${shape.label} ${direction}` })));
  const clientsOf = (backend: string) => [...new Set(cases.filter((c) => c.backend === backend).map((c) => c.client))];
  const panelHeight = (backend: string) => HEADER + clientsOf(backend).length * (BAR + GAP) + 12;
  // The fs reference (an in-kernel copy) is left out of the scale; its bar is cut at the edge.
  const scaleOf = columns.map((col) => Math.max(1, ...cases.filter((c) => c.kind !== 'reference' && c.shape === col.shape && c.direction === col.direction).map((c) => c.megabytesPerSecond.max)));
  const width = Math.max(90 + columns.length * (PANEL_WIDTH + 10), 10 + 6 * 250);
  const top = 58;
  const height = top + backends.reduce((sum, b) => sum + panelHeight(b), 0) + 40;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${escape(title)}</text>`,
    `<text x="10" y="38" fill="#444">MB/s (10^6 bytes per second), median of ${result.runs} run${result.runs === 1 ? '' : 's'}; whiskers: min–max. Each column has its own scale (right end: ${columns.map((c, i) => `${c.title} ${Math.round(scaleOf[i]!)}`).join(', ')} MB/s; the fs copyFile reference is cut there).</text>`,
  ];
  columns.forEach((col, i) => parts.push(`<text x="${90 + i * (PANEL_WIDTH + 10)}" y="${top - 4}" font-weight="bold">${escape(col.title)}</text>`));
  let y = top;
  for (const backend of backends) {
    const clients = clientsOf(backend);
    parts.push(`<text x="10" y="${y + HEADER + 8}" font-weight="bold">${escape(backend)}</text>`);
    columns.forEach((col, i) => {
      const x0 = 90 + i * (PANEL_WIDTH + 10);
      const plot = PANEL_WIDTH - LABEL_WIDTH - 40;
      const scale = (v: number) => (Math.min(v, scaleOf[i]!) / scaleOf[i]!) * plot;
      parts.push(`<rect x="${x0}" y="${y + 4}" width="${PANEL_WIDTH}" height="${panelHeight(backend) - 8}" fill="#f7f7f7" stroke="#ddd"/>`);
      clients.forEach((client, j) => {
        const c = cases.find((k) => k.backend === backend && k.shape === col.shape && k.direction === col.direction && k.client === client);
        const by = y + HEADER + j * (BAR + GAP) - 6;
        parts.push(`<text x="${x0 + 4}" y="${by + BAR - 3}" fill="#333">${escape(client)}</text>`);
        if (!c) return;
        const bx = x0 + LABEL_WIDTH;
        const { median, min, max } = c.megabytesPerSecond;
        parts.push(
          `<rect x="${bx}" y="${by}" width="${scale(median).toFixed(1)}" height="${BAR}" fill="${COLORS[client] ?? '#888'}"/>`,
          `<line x1="${(bx + scale(min)).toFixed(1)}" x2="${(bx + scale(max)).toFixed(1)}" y1="${by + BAR / 2}" y2="${by + BAR / 2}" stroke="#222"/>`,
          `<text x="${(bx + scale(max) + 4).toFixed(1)}" y="${by + BAR - 3}" fill="#222">${Math.round(median)}</text>`,
        );
      });
    });
    y += panelHeight(backend);
  }
  const legend = Object.entries({ pool: 'ours: TransferPool', tiered: 'ours: archiveSegment/restoreSegment', rclone: 'rclone', mc: 'mc (MinIO)', sdk: "the backend's SDK, defaults", copy: 'fs: copyFile (reference)' });
  legend.forEach(([id, text], i) => {
    const x = 10 + i * 250;
    parts.push(`<rect x="${x}" y="${y + 14}" width="12" height="12" fill="${COLORS[id]}"/>`, `<text x="${x + 16}" y="${y + 24}">${escape(text)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
