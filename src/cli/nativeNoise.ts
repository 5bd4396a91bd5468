// Dawn and Mesa print warnings from native code straight to file descriptor 2: limits Dawn clamps
// ("maxDynamicUniformBuffersPerPipelineLayout artificially reduced"), Vulkan drivers it rejects
// (lavapipe), EGL and XDG_RUNTIME_DIR set-up. Node cannot redirect its own descriptor 2, so the CLI
// runs as a child of a small parent that passes the child's stderr through without those lines.
// SGAS_NATIVE_WARNINGS=1 shows them (the CLI then runs in one process).
import { spawn } from 'node:child_process';

const NOISE = [/^Warning: /, /^ {4}at \S+ \(.*:\d+\)$/, /^error: XDG_RUNTIME_DIR /, /^MESA-LOADER: /, /^libEGL warning: /];
/** How each kind of noise line starts: a partial line that may still become one waits for its end. */
const NOISE_PREFIXES = ['Warning: ', '    at ', 'error: XDG_RUNTIME_DIR ', 'MESA-LOADER: ', 'libEGL warning: '];
const CHILD = 'SGAS_STDERR_FILTERED';

export const isNoise = (line: string) => NOISE.some((re) => re.test(line));

/** Passes text through line by line, dropping noise lines; a partial line waits only while it could still become one. */
export class NoiseFilter {
  private pending = '';
  /** The current line was already judged (and passed) before its end arrived. */
  private passing = false;

  constructor(private readonly out: (text: string) => void) {}

  write(text: string): void {
    let rest = this.pending + text;
    this.pending = '';
    for (let end = rest.indexOf('\n'); end >= 0; end = rest.indexOf('\n')) {
      const line = rest.slice(0, end + 1);
      rest = rest.slice(end + 1);
      if (this.passing || !isNoise(line.slice(0, -1))) this.out(line);
      this.passing = false;
    }
    if (!rest) return;
    if (this.passing || !NOISE_PREFIXES.some((p) => p.startsWith(rest) || rest.startsWith(p))) {
      this.out(rest);
      this.passing = true;
    } else {
      this.pending = rest;
    }
  }

  end(): void {
    if (this.pending && !isNoise(this.pending)) this.out(this.pending);
    this.pending = '';
  }
}

/**
 * In the parent: runs this same command line as the child, filters its stderr and exits as it does;
 * returns true. In the child (or with SGAS_NATIVE_WARNINGS=1): returns false, and the CLI runs here.
 */
export function runFilteringNativeNoise(): boolean {
  if (process.env[CHILD] === '1' || process.env.SGAS_NATIVE_WARNINGS === '1') {
    // Progress draws a bar on a terminal; the parent says whether its stderr is one.
    if (process.env[CHILD] === '1' && process.env.SGAS_STDERR_TTY) Object.assign(process.stderr, { isTTY: true, columns: Number(process.env.SGAS_STDERR_TTY) });
    return false;
  }
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...process.argv.slice(2)], {
    stdio: ['inherit', 'inherit', 'pipe'],
    env: { ...process.env, [CHILD]: '1', SGAS_STDERR_TTY: process.stderr.isTTY ? String(process.stderr.columns || 80) : '' },
  });
  const filter = new NoiseFilter((text) => process.stderr.write(text));
  child.stderr!.setEncoding('utf8').on('data', (text: string) => filter.write(text));
  // Ctrl-C reaches the child too (one process group); a signal sent to this process alone is passed on.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  child.on('close', (code, signal) => {
    filter.end();
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    }
    process.exit(code ?? 1);
  });
  return true;
}
