// Progress for long work: a redrawn bar on a terminal, plain lines otherwise (CI, pipes, logs).
export interface ProgressFields {
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  [metric: string]: number | string;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (v: number) => String(v).padStart(2, '0');
  return h ? `${h}:${pad(m)}:${pad(s % 60)}` : `${pad(m)}:${pad(s % 60)}`;
}

function formatValue(v: number | string): string {
  if (typeof v === 'string') return v;
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4 ? v.toFixed(4) : v.toExponential(3);
}

/** Seconds left at the rate so far: `done` of `total` steps took `elapsed` seconds. */
export function etaSeconds(elapsed: number, done: number, total: number): number {
  return done > 0 ? (elapsed / done) * (total - done) : Infinity;
}

export class Progress {
  private readonly started = performance.now();
  private lastPlain = 0;

  constructor(
    private readonly totalSteps: number,
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly plainEverySeconds = 10,
  ) {}

  /** doneSteps: steps finished in the whole run, for the ETA. */
  update(doneSteps: number, fields: ProgressFields): void {
    const elapsed = (performance.now() - this.started) / 1000;
    const eta = etaSeconds(elapsed, doneSteps, this.totalSteps);
    const { epoch, epochs, step, steps, ...metrics } = fields;
    const metricText = Object.entries(metrics).map(([k, v]) => `${k} ${formatValue(v)}`).join('  ');
    const head = `epoch ${epoch + 1}/${epochs} step ${step}/${steps}`;
    const tail = `${metricText}  elapsed ${formatDuration(elapsed)} eta ${formatDuration(eta)}`;
    if (this.out.isTTY) {
      const width = 24;
      const filled = Math.round((width * doneSteps) / Math.max(1, this.totalSteps));
      const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
      this.out.write(`\r\x1b[2K${bar} ${head}  ${tail}`);
    } else if (elapsed - this.lastPlain >= this.plainEverySeconds || step === steps) {
      this.lastPlain = elapsed;
      this.out.write(`${head}  ${tail}\n`);
    }
  }

  /** A line that stays (epoch summaries, decisions), printed above the bar. */
  log(line: string): void {
    this.out.write(this.out.isTTY ? `\r\x1b[2K${line}\n` : `${line}\n`);
  }

  done(): void {
    if (this.out.isTTY) this.out.write('\n');
  }
}
