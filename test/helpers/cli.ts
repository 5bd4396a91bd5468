// The built CLI (dist/sgas.mjs) run as a user runs it: child processes, real pipes and signals.
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../..', import.meta.url));
export const cli = join(root, 'dist', 'sgas.mjs');

let built = false;

/** Builds dist/ once per test file (esbuild, under a second; the wasm kernels are built by npm test). */
export function buildCli(): void {
  if (built) return;
  execFileSync(process.execPath, ['esbuild.config.mjs'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  built = true;
}

export interface Finished {
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Collects a child's output and resolves when it has exited and its pipes have closed. */
export function finished(child: ChildProcess): Promise<Finished> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => (stdout += d));
  child.stderr?.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ pid: child.pid!, code, signal, stdout, stderr }));
  });
}

/** `sgas ARGS` in a child process; nodeArgs go to node before the CLI (e.g. --import). */
export function sgas(args: string[], options: SpawnOptions = {}, nodeArgs: string[] = []): ChildProcess {
  return spawn(process.execPath, [...nodeArgs, cli, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], ...options });
}

export const run = (args: string[], options: SpawnOptions = {}) => finished(sgas(args, options));

/** Runs `work` on every item, at most `concurrency` at a time, in order of the items. */
export async function inParallel<T, R>(items: T[], concurrency: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await work(items[i]!, i);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
