// A sweep on this machine: its jobs run in OUT/<job>/, in this process (--jobs 1) or in N worker
// processes (`sgas worker --local`, fed over IPC), a training as soon as its search is done. A job
// that fails is tried again, three times in all, then marked failed (failed.json) with the
// trainings that needed it. An interrupted sweep run again keeps what is done and continues the rest.
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createBackend, type Backend } from '../../runtime/index.ts';
import { closeBackend } from '../jobs/runLoop.ts';
import { writeFileAtomic } from '../cli/files.ts';
import { backendOptions, type BackendRequest } from '../jobs/options.ts';
import type { SweepJob } from './plan.ts';
import { jobDone, runJob, type JobProgress, type JobResult } from './runJob.ts';
import { describeProgress } from './status.ts';

/** A sweep stopped by its signal: the jobs in progress saved their checkpoints. Named AbortError, as fetch's rejection is. */
export class SweepStoppedError extends Error {
  override name = 'AbortError';
  constructor(out: string) {
    super(`stopped; the jobs in progress saved their checkpoints: run the same command again (the same --out ${out}) to continue`);
  }
}

/** Tries per job, as the queue's `attempts`. */
export const ATTEMPTS = 3;
export const FAILED_FILE = 'failed.json';

export interface LocalSweep {
  out: string;
  /** Worker processes; 1 runs the jobs in this process. */
  jobs: number;
  device: BackendRequest;
  log(line: string): void;
  signal?: AbortSignal;
}

/** Runs `jobs` one at a time, each to its end or its abort. */
interface Executor {
  readonly slots: number;
  run(job: SweepJob, dir: string, genotype: string | undefined, progress: (p: JobProgress) => void): Promise<JobResult>;
  close(): Promise<void>;
}

/** The jobs in this process, on one backend opened for them all. */
function inProcess(sweep: LocalSweep): Executor {
  let backend: Promise<Backend> | null = null;
  return {
    slots: 1,
    async run(job, dir, genotype, progress) {
      backend ??= createBackend({ ...backendOptions(sweep.device), log: sweep.log });
      return runJob(job, { dir, genotype, backend: await backend, signal: sweep.signal, progress });
    },
    async close() {
      await closeBackend(backend);
    },
  };
}

/** Messages between a local sweep and its worker processes. */
export type ToLocalWorker = { type: 'run'; job: SweepJob; dir: string; genotype?: string } | { type: 'stop' };
export type FromLocalWorker =
  | { type: 'progress'; progress: JobProgress }
  | { type: 'done'; result: JobResult }
  | { type: 'failed'; message: string; stopped: boolean };

/** The CLI's entry, to start worker processes from: src/cli/main.ts under tsx, or the running CLI (dist/sgas.mjs). */
function cliEntry(): { path: string; execArgv: string[] } {
  if (!import.meta.url.endsWith('.ts')) return { path: process.argv[1]!, execArgv: [] };
  const imports = process.execArgv.flatMap((arg, i, all) => (arg === '--import' ? [arg, all[i + 1]!] : arg.startsWith('--import=') ? [arg] : []));
  return { path: fileURLToPath(new URL('../cli/main.ts', import.meta.url)), execArgv: imports };
}

/**
 * A worker's WebAssembly threads where none are asked for: the cores shared between the workers, as
 * N workers with every core each would wait on each other's threads (undefined: WebGPU asked for).
 */
function workerThreads(sweep: LocalSweep): number | undefined {
  const { backend, adapter } = sweep.device;
  if (backend === 'webgpu' || adapter !== undefined) return undefined;
  return Math.max(1, Math.floor(availableParallelism() / sweep.jobs));
}

/** N worker processes, each running one job at a time. */
function workerProcesses(sweep: LocalSweep): Executor {
  const entry = cliEntry();
  const idle: ChildProcess[] = [];
  const all: ChildProcess[] = [];
  const start = () => {
    const { backend, adapter, kernels, threads = workerThreads(sweep) } = backendOptions(sweep.device);
    const device = ['--backend', backend, ...(adapter === undefined ? [] : ['--adapter', adapter]), '--kernels', kernels, ...(threads ? ['--threads', String(threads)] : [])];
    const child = fork(entry.path, ['worker', '--local', ...device], { execArgv: entry.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    all.push(child);
    return child;
  };
  const stopAll = () => all.forEach((c) => c.connected && c.send({ type: 'stop' } satisfies ToLocalWorker));
  sweep.signal?.addEventListener('abort', stopAll, { once: true });
  return {
    slots: sweep.jobs,
    run(job, dir, genotype, progress) {
      const child = idle.pop() ?? start();
      return new Promise<JobResult>((resolve, reject) => {
        const exited = (code: number | null, signal: string | null) => {
          all.splice(all.indexOf(child), 1);
          reject(new Error(`its worker process ended (${signal ?? `exit code ${code}`})`));
        };
        const listen = (message: FromLocalWorker) => {
          if (message.type === 'progress') return progress(message.progress);
          child.off('message', listen).off('exit', exited);
          idle.push(child);
          if (message.type === 'done') resolve(message.result);
          else reject(message.stopped ? new SweepStoppedError(sweep.out) : new Error(message.message));
        };
        child.on('message', listen).once('exit', exited);
        child.send({ type: 'run', job, dir, genotype } satisfies ToLocalWorker);
        if (sweep.signal?.aborted) child.send({ type: 'stop' } satisfies ToLocalWorker);
      });
    },
    async close() {
      sweep.signal?.removeEventListener('abort', stopAll);
      await Promise.all(all.map((child) => new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.disconnect();
      })));
    },
  };
}

/** Runs the sweep's unfinished jobs; resolves when each is done or failed, rejects with a RunStoppedError on an abort. */
export async function runLocally(jobs: SweepJob[], sweep: LocalSweep): Promise<void> {
  const dirOf = (job: SweepJob) => join(sweep.out, job.name);
  const state = new Map<string, 'waiting' | 'running' | 'done' | 'failed'>();
  const attempts = new Map<string, number>();
  for (const job of jobs) {
    const done = jobDone(job, dirOf(job));
    state.set(job.name, done ? 'done' : 'waiting');
    // A job that failed in an earlier run of the sweep gets its tries again.
    if (!done) rmSync(join(dirOf(job), FAILED_FILE), { force: true });
  }
  const finished = jobs.filter((j) => state.get(j.name) === 'done').length;
  if (finished) sweep.log(`sgas sweep: ${finished} of ${jobs.length} jobs already done in ${sweep.out}; continuing the rest`);
  const executor = sweep.jobs > 1 ? workerProcesses(sweep) : inProcess(sweep);
  const running = new Map<string, Promise<void>>();
  const count = () => `[${[...state.values()].filter((s) => s === 'done' || s === 'failed').length}/${jobs.length}]`;

  const fail = (job: SweepJob, message: string) => {
    state.set(job.name, 'failed');
    writeFileAtomic(join(dirOf(job), FAILED_FILE), JSON.stringify({ name: job.name, error: message, attempts: attempts.get(job.name) ?? 0 }, null, 2) + '\n');
    sweep.log(`${count()} ${job.name}: failed: ${message}`);
    for (const after of jobs.filter((j) => j.kind === 'train' && j.after === job.name)) fail(after, `its search ${job.name} failed`);
  };
  const start = (job: SweepJob) => {
    const attempt = (attempts.get(job.name) ?? 0) + 1;
    attempts.set(job.name, attempt);
    state.set(job.name, 'running');
    sweep.log(`${count()} ${job.name}: ${existsSync(join(dirOf(job), 'run.json')) ? 'continuing' : 'starting'}${attempt > 1 ? ` (try ${attempt} of ${ATTEMPTS})` : ''}`);
    const genotype = job.kind === 'train' && job.after ? join(sweep.out, job.after) : undefined;
    const progress = (p: JobProgress) => p.saved && sweep.log(`${count()} ${job.name}: ${describeProgress(p)}`);
    running.set(job.name, executor.run(job, dirOf(job), genotype, progress).then(
      (result) => {
        state.set(job.name, 'done');
        sweep.log(`${count()} ${job.name}: done in ${result.seconds.toFixed(1)} s`);
      },
      (e: Error) => {
        if (e.name === 'AbortError' || sweep.signal?.aborted) return void state.set(job.name, 'waiting');
        if (attempt < ATTEMPTS) {
          sweep.log(`${job.name}: try ${attempt} of ${ATTEMPTS} failed: ${e.message}`);
          return void state.set(job.name, 'waiting');
        }
        fail(job, e.message);
      },
    ).finally(() => running.delete(job.name)));
  };

  try {
    for (;;) {
      if (!sweep.signal?.aborted) {
        const ready = jobs.filter((j) => state.get(j.name) === 'waiting' && (j.kind === 'search' || !j.after || state.get(j.after) === 'done'));
        for (const job of ready.slice(0, executor.slots - running.size)) start(job);
      }
      if (!running.size) break;
      await Promise.race(running.values());
    }
  } finally {
    await executor.close();
  }
  if (sweep.signal?.aborted && jobs.some((j) => state.get(j.name) === 'waiting')) {
    throw new SweepStoppedError(sweep.out);
  }
}
