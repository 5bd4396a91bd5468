// One sweep job run in its folder: search() or train() on the job's options, started or continued
// from what the folder holds, its progress reported as one small record. A local sweep, a local
// worker process, a queue worker and the page's lease all end here (the page through its own engine).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../../runtime/index.ts';
import { hasCheckpoint } from '../cli/checkpointFiles.ts';
import { epochsDone, etaFrom } from '../cli/progress.ts';
import type { TrainOptions } from '../jobs/options.ts';
import type { RunProgress } from '../jobs/runLoop.ts';
import { search } from '../jobs/search.ts';
import { train } from '../jobs/train.ts';
import type { LoopStep } from '../train/loop.ts';
import type { SweepJob } from './plan.ts';

/** Where a running job stands, as a queue's job progress and the sweep's status show it. */
export interface JobProgress {
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  loss: number;
  /** Seconds left at this run's pace so far (null until a step is done here). */
  eta: number | null;
  /** The last finished epoch's accuracy: validation for a search, test for a training. */
  accuracy?: number;
  /** Set on the report after an epoch, once its checkpoint is in the folder. */
  saved?: boolean;
}

/** What a finished job reports (the folder holds the rest). */
export interface JobResult {
  name: string;
  kind: SweepJob['kind'];
  python: string;
  seconds: number;
  validAccuracy?: number;
  testAccuracy?: number;
}

export interface JobRun {
  /** The job's run folder. */
  dir: string;
  /** The genotype a training after a search trains: its folder, or the genotype itself. */
  genotype?: TrainOptions['genotype'];
  backend: Backend;
  signal?: AbortSignal;
  /** After every step, and after every epoch once its checkpoint is in the folder (`saved`). */
  progress?(progress: JobProgress): void | Promise<void>;
  log?(line: string): void;
}

/** The files that mark a job's folder finished. */
const RESULT_FILE = { search: 'genotype.json', train: 'result.json' } as const;

export function jobDone(job: Pick<SweepJob, 'kind'>, dir: string): boolean {
  return existsSync(join(dir, RESULT_FILE[job.kind]));
}

/** Whether the folder holds a run to continue (its run.json is written before any epoch). */
export const jobStarted = (dir: string) => existsSync(join(dir, 'run.json')) || hasCheckpoint(dir);

export async function runJob(job: SweepJob, run: JobRun): Promise<JobResult> {
  // The pace is measured from this run's first step on, so loading and a resume's earlier steps do not skew it.
  let first: { at: number; done: number } | null = null;
  let last: JobProgress | null = null;
  const hooks = {
    backend: run.backend, signal: run.signal, log: run.log,
    onStep: (s: LoopStep & RunProgress) => {
      const done = epochsDone(s);
      first ??= { at: performance.now(), done };
      const eta = etaFrom(first, done, s.epochs);
      last = { epoch: s.epoch, epochs: s.epochs, step: s.step, steps: s.steps, loss: s.loss, eta: Number.isFinite(eta) ? eta : null, accuracy: last?.accuracy };
      return run.progress?.(last);
    },
    onEpoch: (r: { epoch: number; epochs: number; validAccuracy?: number; testAccuracy?: number; trainLoss: number }) => {
      last = { ...(last ?? { step: 0, steps: 0, eta: null }), epoch: r.epoch, epochs: r.epochs, loss: r.trainLoss, accuracy: r.validAccuracy ?? r.testAccuracy };
      return run.progress?.({ ...last, saved: true });
    },
  };
  const resume = jobStarted(run.dir);
  if (job.kind === 'search') {
    const { report } = await search({ ...job.options, out: run.dir, resume }, hooks);
    return { name: job.name, kind: job.kind, python: report.python, seconds: report.seconds, validAccuracy: report.validAccuracy };
  }
  const genotype = job.after ? run.genotype : job.options.genotype;
  const { report } = await train({ ...job.options, genotype, out: run.dir, resume }, hooks);
  return { name: job.name, kind: job.kind, python: report.python, seconds: report.seconds, testAccuracy: report.testAccuracy };
}
