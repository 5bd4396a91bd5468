// Dawn and Mesa print warnings from native code straight to file descriptor 2: limits Dawn clamps
// ("maxDynamicUniformBuffersPerPipelineLayout artificially reduced"), Vulkan drivers it rejects
// (lavapipe), EGL set-up. Node cannot redirect its own descriptor 2, so a command that may open a
// WebGPU adapter runs as the child of a small parent. The child's descriptor 2 is a pipe the parent
// passes on without those lines; the CLI's own stderr (process.stderr) is the real one, handed to
// the child as descriptor 3, so its order with stdout and its completeness through pipes are those
// of one process. SGAS_NATIVE_WARNINGS=1 shows the warnings (the CLI then runs in one process).
//
// The two live and die as one: the parent passes on the signals sent to it alone and ends as the
// child ended (its exit code, or the same signal). The child dies with the parent: on Linux the
// kernel kills it (util-linux's setpriv --pdeathsig, stopped or not), and a watchdog thread in it
// checks too. So a SIGKILL of the sgas process a user sees ends the work, and run.lock names that
// process (cliPid), whose death frees the run folder.
import { spawn } from 'node:child_process';
import { existsSync, fstatSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { delimiter, join } from 'node:path';
import { Writable } from 'node:stream';
import { isatty, WriteStream } from 'node:tty';
import { Worker } from 'node:worker_threads';
import { exitWhenWritten, toleratePipesClosed, whenWritten } from './processOutput.ts';

const NOISE = [/^Warning: /, /^ {4}at \S+ \(.*:\d+\)$/, /^error: XDG_RUNTIME_DIR /, /^MESA-LOADER: /, /^libEGL warning: /];
/** How each kind of noise line starts: a partial line that may still become one waits for its end. */
const NOISE_PREFIXES = ['Warning: ', '    at ', 'error: XDG_RUNTIME_DIR ', 'MESA-LOADER: ', 'libEGL warning: '];
/** Set in the child: the parent's pid. */
const CHILD = 'SGAS_STDERR_FILTERED';
/** The child's descriptor for the real stderr. */
const REAL_STDERR = 3;
/** Signals a user may send to the sgas process alone; Ctrl-C and a hangup reach both processes anyway. */
const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

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

let parentPid: number | null = null;

/** The pid of the sgas process the user started: the parent of a filtered child, else this one. */
export function cliPid(): number {
  return parentPid ?? process.pid;
}

/** A stream on an inherited descriptor, of the kind Node makes for its own stdio. */
function writableDescriptor(fd: number): NodeJS.WriteStream {
  if (isatty(fd)) return new WriteStream(fd);
  const stat = fstatSync(fd);
  if (stat.isFIFO() || stat.isSocket()) return new Socket({ fd, readable: false, writable: true }) as unknown as NodeJS.WriteStream;
  // A file or a device: written at once, as Node writes a file given as stderr.
  const sync = new Writable({
    write(chunk: Buffer, _encoding, done) {
      try {
        writeSync(fd, chunk);
        done();
      } catch (e) {
        done(e as Error);
      }
    },
  });
  return sync as unknown as NodeJS.WriteStream;
}

// The child's watchdog, a thread of its own so it acts while the main thread computes (a WebAssembly
// search may not return to the event loop for a whole run). Within WATCH_MS: a parent gone (the
// child has another parent then) takes the child with it; a parent stopped (SIGSTOP sent to it
// alone; Linux tells by /proc) stops the child too, and the parent's SIGCONT continues it.
const WATCH_MS = 100;
const WATCHDOG = `const { readFileSync } = require('node:fs');
const { workerData: parent } = require('node:worker_threads');
const stopped = () => { try { return readFileSync('/proc/' + parent + '/stat', 'utf8').replace(/^.*\\) /s, '')[0] === 'T'; } catch { return false; } };
setInterval(() => {
  if (process.ppid !== parent) process.kill(process.pid, 'SIGKILL');
  else if (stopped()) process.kill(process.pid, 'SIGSTOP');
}, ${WATCH_MS});`;

function becomeChild(parent: number): void {
  parentPid = parent;
  delete process.env[CHILD];
  const stderr = writableDescriptor(REAL_STDERR);
  Object.defineProperty(process, 'stderr', { configurable: true, enumerable: true, get: () => stderr });
  new Worker(WATCHDOG, { eval: true, workerData: parent }).unref();
}

/** Linux: setpriv's command line that has the kernel send the child SIGKILL when this process dies; elsewhere none. */
function dieWithParent(): string[] {
  if (process.platform !== 'linux') return [];
  const setpriv = (process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'setpriv')).find((path) => existsSync(path));
  return setpriv ? [setpriv, '--pdeathsig', 'KILL', '--'] : [];
}

/** Ends this process as the child ended, once what it passed on is written. */
async function endLikeChild(code: number | null, signal: NodeJS.Signals | null): Promise<void> {
  if (!signal) return void (await exitWhenWritten(code ?? 1));
  await whenWritten();
  process.removeAllListeners(signal);
  process.kill(process.pid, signal);
}

/**
 * In the parent: runs this same command line as the child, filters its descriptor 2 and ends as it
 * does; returns true. In the child (or with SGAS_NATIVE_WARNINGS=1): returns false, and the CLI runs here.
 */
export function runFilteringNativeNoise(): boolean {
  const parent = Number(process.env[CHILD]);
  if (parent) becomeChild(parent);
  if (parent || process.env.SGAS_NATIVE_WARNINGS === '1') return false;
  toleratePipesClosed();
  const command = [...dieWithParent(), process.execPath, ...process.execArgv, process.argv[1]!, ...process.argv.slice(2)];
  const child = spawn(command[0]!, command.slice(1), {
    stdio: ['inherit', 'inherit', 'pipe', 2],
    env: { ...process.env, [CHILD]: String(process.pid) },
  });
  const filter = new NoiseFilter((text) => process.stderr.write(text));
  child.stderr!.setEncoding('utf8').on('data', (text: string) => filter.write(text));
  for (const signal of FORWARDED) process.on(signal, () => child.kill(signal));
  process.on('SIGCONT', () => child.kill('SIGCONT'));
  child.on('error', (e) => {
    process.stderr.write(`sgas: cannot start the CLI's process: ${e.message}\n`);
    void exitWhenWritten(1);
  });
  child.on('close', (code, signal) => {
    filter.end();
    void endLikeChild(code, signal);
  });
  return true;
}
