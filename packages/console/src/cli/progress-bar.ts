import { formatBytes, formatSeconds, printable } from './human-format.js';

/** A terminal to draw on: a TTY stream's `write` and `columns`. */
export interface ProgressTerminal {
  write(text: string): unknown;
  readonly columns?: number;
}

/** Redraw at most this often: a bar that repaints per chunk costs more than the work it shows. */
const REDRAW_MS = 100;

/**
 * One line that redraws itself: segments done of total, bytes done of total, rate and ETA.
 * Only for a terminal (the caller decides); finished items are printed above it with `log`.
 * Bytes count as they move (`moving`, from the operation's progress) and settle when an item ends.
 */
export class ProgressBar {
  readonly #started: number;
  #items = 0;
  #bytes = 0;
  /** Bytes moved so far by items still in progress. */
  readonly #moving = new Map<string, number>();
  #current = '';
  #lastDraw = 0;

  constructor(
    private readonly terminal: ProgressTerminal,
    private readonly label: string,
    private readonly totalItems: number,
    private readonly totalBytes: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.#started = now();
  }

  /** The item now in progress (its name shows at the end of the line). */
  working(name: string): void {
    this.#current = name;
    this.#draw(false);
  }

  /** `bytes` of the item `name` moved so far (it is still in progress). */
  moving(name: string, bytes: number): void {
    this.#moving.set(name, bytes);
    this.#draw(false);
  }

  /** One item finished, having moved `bytes`. */
  tick(bytes: number, name?: string): void {
    if (name !== undefined) this.#moving.delete(name);
    this.#items++;
    this.#bytes += bytes;
    this.#draw(this.#items === this.totalItems);
  }

  /** Prints a finished line above the bar, then redraws the bar. */
  log(line: string): void {
    this.terminal.write(`\r\x1b[2K${line}\n`);
    this.#draw(true);
  }

  /** Leaves the final state on its own line. */
  done(): void {
    this.#draw(true);
    this.terminal.write('\n');
  }

  /** The bar's text (without the escapes that place it). */
  render(): string {
    const elapsed = Math.max((this.now() - this.#started) / 1000, 0.001);
    let bytes = this.#bytes;
    for (const moving of this.#moving.values()) bytes += moving;
    const fraction = this.totalBytes > 0 ? bytes / this.totalBytes : this.totalItems > 0 ? this.#items / this.totalItems : 1;
    const width = 24;
    const filled = Math.round(Math.min(1, fraction) * width);
    const rate = bytes / elapsed;
    const remaining = rate > 0 ? (this.totalBytes - bytes) / rate : this.#items > 0 ? ((this.totalItems - this.#items) * elapsed) / this.#items : Number.NaN;
    const parts = [
      `${this.label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`,
      `${this.#items}/${this.totalItems} segments`,
      `${formatBytes(bytes)}/${formatBytes(this.totalBytes)}`,
      `${formatBytes(rate)}/s`,
      `ETA ${this.#items === this.totalItems ? '0s' : formatSeconds(remaining)}`,
    ];
    if (this.#current && this.#items < this.totalItems) parts.push(printable(this.#current));
    const line = parts.join('  ');
    const columns = this.terminal.columns || 100; // a pseudo-terminal may report 0
    return line.length > columns - 1 ? `${line.slice(0, columns - 2)}…` : line;
  }

  #draw(force: boolean): void {
    const now = this.now();
    if (!force && now - this.#lastDraw < REDRAW_MS) return;
    this.#lastDraw = now;
    this.terminal.write(`\r\x1b[2K${this.render()}`);
  }
}
