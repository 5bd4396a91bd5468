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

/** Seconds left at the rate so far: `done` of `total` (any one unit) took `elapsed` seconds. */
function etaSeconds(elapsed: number, done: number, total: number): number {
  return done > 0 ? (elapsed / done) * (total - done) : Infinity;
}

/**
 * How far a run is, in epochs. Counted in epochs, not steps: a search's batch grows with its
 * decisions, so its later epochs have fewer steps, but every epoch has the same images to go through.
 */
export function epochsDone(at: { epoch: number; step: number; steps: number }): number {
  return at.epoch + (at.steps > 0 ? at.step / at.steps : 0);
}

/** Seconds left, at the pace since `first` (epochs done then, and when), of a run `epochs` long that is `done` epochs in. */
export function etaFrom(first: { at: number; done: number }, done: number, epochs: number, now = performance.now()): number {
  return etaSeconds((now - first.at) / 1000, done - first.done, epochs - first.done);
}

export class Progress {
  private readonly started: number;
  private lastPlain = 0;
  /** Where the first update found the run (a resumed one is some epochs in): the pace counts from there. */
  private first: { at: number; done: number } | null = null;

  constructor(
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly plainEverySeconds = 10,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.started = now();
  }

  /** fields.step: steps finished in epoch fields.epoch (0-based), of fields.steps. */
  update(fields: ProgressFields): void {
    const now = this.now();
    const elapsed = (now - this.started) / 1000;
    const done = epochsDone(fields);
    this.first ??= { at: now, done };
    const eta = etaFrom(this.first, done, fields.epochs, now);
    const { epoch, epochs, step, steps, ...metrics } = fields;
    const metricText = Object.entries(metrics).map(([k, v]) => `${k} ${formatValue(v)}`).join('  ');
    const head = `epoch ${epoch + 1}/${epochs} step ${step}/${steps}`;
    const tail = `${metricText}  elapsed ${formatDuration(elapsed)} eta ${formatDuration(eta)}`;
    if (this.out.isTTY) {
      const width = 24;
      const filled = Math.round((width * Math.min(done, epochs)) / Math.max(1, epochs));
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

