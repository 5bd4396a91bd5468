// `sgas worker --redis URL`: takes sweep jobs from the queue and runs each with runJob() in a
// scratch folder, its files got from the job store first (a job another worker started continues
// from its last checkpoint), put back after every epoch, and its progress (epoch, loss, ETA) on
// the job. A worker that dies loses its lock; BullMQ's stalled-job check hands the job to another.
// stop() (Ctrl-C) stops each job after the step in progress, keeps its checkpoint and hands it back.
import { mkdirSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Backend } from '../../runtime/index.ts';
import { parseGenotype } from '../search/genotype.ts';
import { bullmq, connection, QUEUE, redisClient, type QueuedJob, type SweepQueueJob } from './queue.ts';
import { runJob, type JobProgress, type JobResult } from './runJob.ts';
import { describeProgress } from './status.ts';
import { JobStore } from './store.ts';

export interface WorkerOptions {
  redis: string;
  backend: Backend;
  /** Jobs at once in this process. */
  concurrency: number;
  /** A folder every worker shares for the jobs' files; absent: Redis. */
  store?: string;
  /** Where jobs run; each job's folder is removed once its files are stored. */
  work: string;
  /** A job whose worker has not renewed its lock for this long is handed to another (BullMQ's lockDuration). */
  stalledAfterMs: number;
  log(line: string): void;
}

export interface RunningWorker {
  /** Stops after each job's step in progress, hands the jobs back and closes; resolves when done. */
  stop(): Promise<void>;
  /** Resolves when the worker has closed. */
  closed: Promise<void>;
}

/** How often a running job's progress goes to Redis between epochs. */
const PROGRESS_EVERY_MS = 1000;

export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const { WaitingError, Worker } = await bullmq();
  const redis = await redisClient(options.redis);
  const store = new JobStore(redis, options.store ?? null);
  const stopping = new AbortController();
  const name = `${hostname()}:${process.pid}`;

  const processJob = async (job: SweepQueueJob, token?: string): Promise<JobResult> => {
    const { sweep, job: sweepJob } = job.data;
    const dir = join(options.work, sweep, sweepJob.name);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    try {
      const kept = await store.get(sweep, sweepJob.name, dir);
      options.log(`${sweepJob.name}: ${kept ? 'continuing from its stored checkpoint' : 'starting'} (try ${job.attemptsMade + 1})`);
      let genotype;
      if (sweepJob.kind === 'train' && sweepJob.after) {
        const [found] = Object.values(await job.getChildrenValues<JobResult>());
        if (!found) throw new Error(`its search ${sweepJob.after} left no genotype`);
        genotype = parseGenotype(found.python);
      }
      let reported = 0;
      const progress = async (p: JobProgress) => {
        if (p.saved) {
          await store.put(sweep, sweepJob.name, dir);
          options.log(`${sweepJob.name}: ${describeProgress(p)} (checkpoint stored)`);
        }
        if (!p.saved && performance.now() - reported < PROGRESS_EVERY_MS) return;
        reported = performance.now();
        await job.updateProgress(p as unknown as object);
      };
      try {
        const result = await runJob(sweepJob, { dir, genotype, backend: options.backend, signal: stopping.signal, progress, log: () => {} });
        await store.put(sweep, sweepJob.name, dir);
        options.log(`${sweepJob.name}: done in ${result.seconds.toFixed(1)} s`);
        return result;
      } catch (e) {
        if ((e as Error).name !== 'AbortError') throw e;
        // Ctrl-C: the checkpoint of the step it stopped after goes to the store, the job back to the queue.
        await store.put(sweep, sweepJob.name, dir);
        await job.moveToWait(token);
        options.log(`${sweepJob.name}: handed back to the queue (${(e as Error).message.replace(/; its checkpoint.*$/, '')})`);
        throw new WaitingError();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  const worker = new Worker<QueuedJob, JobResult>(QUEUE, processJob, {
    connection: connection(options.redis), concurrency: options.concurrency, name,
    lockDuration: options.stalledAfterMs, stalledInterval: Math.max(1000, options.stalledAfterMs / 2),
    // A job whose worker died is taken over, up to the tries a failing job gets.
    maxStalledCount: 3,
  });
  worker.on('failed', (job, e) => job && options.log(`${job.data.job.name}: try ${job.attemptsMade} failed: ${e.message}`));
  // Lost connections (a Redis restart) are retried until Redis is back; say so, and go on.
  worker.on('error', (e) => options.log(`sgas worker: Redis: ${e.message} (retrying)`));
  const closed = new Promise<void>((resolve) => worker.once('closed', () => resolve()));
  options.log(`sgas worker ${name}: taking jobs from ${options.redis} (${options.concurrency} at a time; files kept in ${options.store ?? 'Redis'})`);
  return {
    closed,
    async stop() {
      stopping.abort();
      await worker.close();
      await redis.quit().catch(() => {});
    },
  };
}
