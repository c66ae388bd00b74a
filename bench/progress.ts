/**
 * A one-line progress bar on stderr: the step running and the elapsed time against the planned
 * total. Redrawn in place with `\r` on a terminal; on a pipe or CI log, where `\r` would pile
 * up, one line per step instead. stdout stays free for the results.
 */
const WIDTH = 24;

const clock = (seconds: number) => {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

export class Progress {
  private readonly started = Date.now();
  private label = 'starting';
  private timer?: NodeJS.Timeout;
  private drawn = 0;
  private readonly tty = Boolean(process.stderr.isTTY);

  /**
   * `plannedSeconds`: the estimate of the whole run that the bar fills towards; `onStep` hears
   * the label of each step as it ends.
   */
  constructor(
    private readonly plannedSeconds: number,
    private readonly onStep: (finished: string) => void = () => undefined,
  ) {
    if (!this.tty) return;
    this.timer = setInterval(() => this.draw(), 250);
    this.timer.unref();
  }

  step(label: string): void {
    this.onStep(this.label);
    this.label = label;
    if (this.tty) this.draw();
    else process.stderr.write(`[${this.times()}] ${label}\n`);
  }

  /** Wipes the bar so that a message can be printed on a clean line. */
  clear(): void {
    if (this.drawn) process.stderr.write(`\r${' '.repeat(this.drawn)}\r`);
    this.drawn = 0;
  }

  stop(): void {
    this.onStep(this.label);
    this.label = 'done';
    clearInterval(this.timer);
    this.clear();
  }

  private elapsed(): number {
    return (Date.now() - this.started) / 1000;
  }

  private times(): string {
    return `${clock(this.elapsed())}/${clock(this.plannedSeconds)}`;
  }

  private draw(): void {
    const share = Math.min(0.99, this.elapsed() / Math.max(1, this.plannedSeconds));
    const filled = Math.round(share * WIDTH);
    const bar = `${'█'.repeat(filled)}${'░'.repeat(WIDTH - filled)}`;
    const line = `${bar} ${String(Math.floor(share * 100)).padStart(2)}% ${this.times()} ${this.label}`;
    const width = (process.stderr.columns || 100) - 1; // 0 on a pty of unknown size
    const text = line.slice(0, width);
    process.stderr.write(`\r${text.padEnd(this.drawn)}`);
    this.drawn = text.length;
  }
}
