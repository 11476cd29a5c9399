import { ProgressBar } from './progress-bar.js';

/**
 * Where a command's results go: `--json` prints one JSON document on stdout; otherwise plain
 * lines, plus a progress bar when stdout is a terminal (and never an escape code when it is not,
 * so logs and pipes stay clean).
 */
export class CliOutput {
  constructor(
    readonly json: boolean,
    private readonly stdout: NodeJS.WriteStream = process.stdout,
    private readonly stderr: NodeJS.WriteStream = process.stderr,
  ) {}

  get interactive(): boolean {
    return !this.json && this.stdout.isTTY === true;
  }

  /** A line of human output (nothing under `--json`). */
  line(text: string): void {
    if (!this.json) this.stdout.write(`${text}\n`);
  }

  /** The command's JSON document (only under `--json`). */
  document(value: unknown): void {
    if (this.json) this.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /**
   * A failure, on stderr in both modes (under `--json` also as the document on stdout, with
   * `details`: what a script acts on, such as the log end offset of a read past the end).
   */
  error(code: string, message: string, details: Readonly<Record<string, string | number>> = {}): void {
    this.stderr.write(`takhin-tiered: ${message}\n`);
    if (this.json) this.stdout.write(`${JSON.stringify({ error: code, message, ...details }, null, 2)}\n`);
  }

  /** A warning on stderr, in both modes (a long-running command's log: `serve`). */
  warn(message: string): void {
    this.stderr.write(`takhin-tiered: ${message}\n`);
  }

  /** A progress bar on a terminal; otherwise undefined (finished items are printed as lines). */
  progress(label: string, items: number, bytes: number): ProgressBar | undefined {
    return this.interactive && items > 1 ? new ProgressBar(this.stdout, label, items, bytes) : undefined;
  }
}
