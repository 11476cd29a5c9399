import { describe, expect, it } from 'vitest';
import { ProgressBar } from '@takhin/console';

/** A terminal that records what was drawn. */
function terminal(columns = 160) {
  const writes: string[] = [];
  return { writes, columns, write: (text: string) => writes.push(text) };
}

describe('progress bar on a terminal', () => {
  it('shows segments and bytes done of total, rate and ETA, redrawn in place', () => {
    let now = 0;
    const tty = terminal();
    const bar = new ProgressBar(tty, 'archive', 4, 4 * 1024 * 1024, () => now);
    now = 1000;
    bar.working('orders-0/00000000000000000000.log');
    bar.tick(1024 * 1024);
    expect(bar.render()).toBe('archive [######------------------]  1/4 segments  1.00 MiB/4.00 MiB  1.00 MiB/s  ETA 3s  orders-0/00000000000000000000.log');
    now = 2000;
    bar.tick(1024 * 1024);
    expect(bar.render()).toContain('2/4 segments  2.00 MiB/4.00 MiB  1.00 MiB/s  ETA 2s');
    bar.log('archived  orders-0/00000000000000000000.log');
    bar.tick(1024 * 1024);
    bar.tick(1024 * 1024);
    bar.done();
    expect(bar.render()).toContain('4/4 segments  4.00 MiB/4.00 MiB');
    expect(bar.render()).toContain('ETA 0s');
    // Every redraw returns to the line's start and clears it; a logged line ends with a newline.
    expect(tty.writes.every((w) => w.startsWith('\r\u001b[2K') || w === '\n')).toBe(true);
    expect(tty.writes).toContain('\r\u001b[2Karchived  orders-0/00000000000000000000.log\n');
  });

  it('fits the terminal width and shows control characters of a name as escapes', () => {
    const tty = terminal(40);
    const bar = new ProgressBar(tty, 'restore', 2, 100, () => 0);
    bar.working('evil\u001b]0;title\u0007');
    expect(bar.render().length).toBeLessThanOrEqual(39);
    const wide = new ProgressBar(terminal(200), 'restore', 2, 100, () => 0);
    wide.working('evil\u001b]0;title\u0007');
    expect(wide.render()).toContain('evil\\x1b]0;title\\x07');
  });
});
