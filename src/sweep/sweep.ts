// sweep(options, hooks): every search and training of a sweep, on this machine or through a
// queue, then the leaderboard. OUT/sweep.json keeps the plan, so the same command run again
// continues the same sweep (and refuses another in the same folder).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../cli/args.ts';
import { writeFileAtomic } from '../cli/files.ts';
import type { BackendRequest } from '../jobs/options.ts';
import { buildLeaderboard, type Leaderboard } from './leaderboard.ts';
import { runLocally } from './local.ts';
import { planJobs, type SweepJob, type SweepSpec } from './plan.ts';
import { writeLeaderboard } from './report.ts';
import { checkCurrent, reuseJobs } from './reuse.ts';

/** `backend`, `adapter`, `kernels`: what the jobs run on. */
export interface SweepOptions extends SweepSpec, BackendRequest {
  out: string;
  /** Local worker processes (1: this process); without a queue only. */
  jobs?: number;
  /** Another sweep's folder: its finished jobs that are the same as this sweep's are copied, not run again. */
  reuse?: string;
}

export interface SweepHooks {
  signal?: AbortSignal;
  log?(line: string): void;
}

/** OUT/sweep.json: what the sweep was asked for, its jobs, and its queue's name for them. */
export interface SweepFile {
  spec: SweepSpec;
  jobs: SweepJob[];
  /** The prefix of its jobs' ids in a queue. */
  id: string;
}

export const SWEEP_FILE = 'sweep.json';

export function readSweepFile(out: string): SweepFile | null {
  const path = join(out, SWEEP_FILE);
  return existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) as SweepFile : null;
}

/** The sweep in `out`: the one there (the same spec, its runs made with today's preset values), or a new one written there. */
export function openSweep(spec: SweepSpec, out: string, newId: () => string): SweepFile {
  const jobs = planJobs(spec);
  const existing = readSweepFile(out);
  if (existing) {
    if (JSON.stringify(existing.spec) !== JSON.stringify(spec)) {
      throw new UsageError(`${out} holds another sweep (${join(out, SWEEP_FILE)}): run it with its own flags, or choose another --out`);
    }
    checkCurrent(existing, out);
    return existing;
  }
  const file: SweepFile = { spec, jobs, id: newId() };
  writeFileAtomic(join(out, SWEEP_FILE), JSON.stringify(file, null, 2) + '\n');
  return file;
}

/** Runs the sweep's jobs on this machine and writes its leaderboard. */
export async function sweep(options: SweepOptions, hooks: SweepHooks = {}): Promise<Leaderboard> {
  const { out, jobs: workers = 1, backend, adapter, kernels, reuse, ...spec } = options;
  const log = hooks.log ?? (() => {});
  const file = openSweep(spec, out, () => 'local');
  if (reuse) reuseJobs(file, out, reuse, readSweepFile(reuse), log);
  await runLocally(file.jobs, { out, jobs: workers, device: { backend, adapter, kernels }, log, signal: hooks.signal });
  return finishSweep(file, out, log);
}

/** Writes the leaderboard of the jobs' folders in `out`. */
export function finishSweep(file: SweepFile, out: string, log: (line: string) => void): Leaderboard {
  const board = buildLeaderboard(file.spec, file.jobs, out);
  writeLeaderboard(out, board);
  log(`sgas sweep: leaderboard written to ${join(out, 'leaderboard.md')}`);
  return board;
}
