import type { CliOutput } from './memcache-cli';

const WIDTH = 30;
const MiB = 1024 * 1024;

/** `label [#####.........]  42%  27.0/64.0 MiB` redrawn in place on a terminal, at most once per percent. */
export class ProgressBar {
  private shownPercent = -1;

  constructor(
    private readonly output: CliOutput,
    private readonly total: number,
    private readonly label: string,
  ) {}

  update(done: number): void {
    const percent = Math.min(100, Math.floor((done * 100) / this.total));
    if (percent === this.shownPercent) return;
    this.shownPercent = percent;
    const filled = Math.round((percent * WIDTH) / 100);
    const bar = `${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}`;
    const amount = `${(done / MiB).toFixed(1)}/${(this.total / MiB).toFixed(1)} MiB`;
    this.output.write(`\r${this.label} [${bar}] ${String(percent).padStart(3)}%  ${amount}`);
  }

  finish(): void {
    this.update(this.total);
    this.output.write('\n');
  }
}
