// A sweep on a BullMQ queue in Redis. A job's data is the sweep's id and the job as the plan has
// it (a name, a kind, the options object search() or train() takes); a training after a search is
// the parent of its search in a BullMQ flow, so it waits for it and reads the genotype from it.
// Each job is tried three times; a search that fails for good fails its training.
import type { ConnectionOptions, Job, JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { UsageError } from '../cli/args.ts';
import { ATTEMPTS } from './local.ts';
import type { SweepJob } from './plan.ts';
import type { JobProgress, JobResult } from './runJob.ts';
import type { SweepFile } from './sweep.ts';

export const QUEUE = 'sgas-sweep';

/** BullMQ and ioredis, loaded when a queue is used: every other command starts without them. */
export const bullmq = () => import('bullmq');

export type SweepQueue = Queue<QueuedJob, JobResult>;

/** The sweep queue (close it when done). */
export async function openQueue(url: string): Promise<SweepQueue> {
  const { Queue } = await bullmq();
  return new Queue<QueuedJob, JobResult>(QUEUE, { connection: connection(url) });
}

export interface QueuedJob {
  sweep: string;
  job: SweepJob;
}

export type SweepQueueJob = Job<QueuedJob, JobResult>;

interface RetryOptions {
  maxRetriesPerRequest: null;
  enableOfflineQueue: boolean;
  retryStrategy(times: number): number;
}

/** redis://HOST:PORT checked, with the retries a queue needs to ride out a Redis restart. */
export function connection(url: string): ConnectionOptions & RetryOptions & { url: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--redis ${url}: expected redis://HOST:PORT`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') throw new UsageError(`--redis ${url}: expected redis://HOST:PORT`);
  // Commands wait for a lost connection to come back instead of failing: BullMQ's workers need it,
  // and a restarted Redis (with its append-only file) has everything they were doing.
  return { url, maxRetriesPerRequest: null, enableOfflineQueue: true, retryStrategy: (times: number) => Math.min(100 * times, 2000) };
}

/**
 * Fails in one line, within `timeoutMs`, when no Redis answers at `url`. The retries above ride out a
 * Redis that went away mid-sweep; at the start they would wait for ever on a wrong URL or a server
 * never started, printing a stack per try.
 */
export async function reachRedis(url: string, timeoutMs = 5000): Promise<void> {
  connection(url);
  const { Redis } = await import('ioredis');
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null, connectTimeout: timeoutMs });
  // connect() rejects with "Connection is closed."; the socket's own error says why.
  let socketError: NodeJS.ErrnoException | undefined;
  client.on('error', (e: NodeJS.ErrnoException) => (socketError ??= e));
  try {
    await client.connect();
    await client.ping();
  } catch (e) {
    const error = socketError ?? (e as NodeJS.ErrnoException);
    const cause = error.code ?? error.message;
    throw new Error(`cannot reach Redis at ${url} (${cause}): start it (redis-server --port PORT; scripts/setup.sh installs it) or check --redis`);
  } finally {
    client.disconnect();
  }
}

/** A plain Redis client on the same terms (the job store). */
export async function redisClient(url: string): Promise<Redis> {
  const { maxRetriesPerRequest, enableOfflineQueue, retryStrategy } = connection(url);
  const { Redis } = await import('ioredis');
  const client = new Redis(url, { maxRetriesPerRequest, enableOfflineQueue, retryStrategy });
  client.on('error', () => {});
  return client;
}

/** A sweep job's id in the queue: the sweep's id and the job's name (BullMQ ids may not hold ':'). */
export const jobId = (sweep: string, name: string) => `${sweep}--${name}`;

const JOB_OPTIONS: JobsOptions = { attempts: ATTEMPTS, backoff: { type: 'fixed', delay: 1000 }, removeOnComplete: false, removeOnFail: false };

/** Puts the sweep's jobs on the queue; jobs already there (the same sweep run again) stay as they are. */
export async function enqueue(url: string, file: Pick<SweepFile, 'id' | 'jobs'>): Promise<void> {
  const { FlowProducer } = await bullmq();
  const flows = new FlowProducer({ connection: connection(url) });
  const queue = await openQueue(url);
  try {
    type Flow = ReturnType<typeof entry> & { children?: Flow[] };
    const entry = (job: SweepJob) => ({ name: job.kind, queueName: QUEUE, data: { sweep: file.id, job }, opts: { ...JOB_OPTIONS, jobId: jobId(file.id, job.name) } });
    for (const job of file.jobs) {
      if (job.kind === 'train' && job.after) continue;
      const trainings = file.jobs.filter((j) => j.kind === 'train' && j.after === job.name);
      if (await queue.getJob(jobId(file.id, job.name))) continue;
      // A BullMQ job has one parent: a search's trainings (one per training seed) form a chain, each
      // the parent of the one before, and each reads the genotype from its child's result.
      const flow = trainings.reduce<Flow>((child, training) => ({ ...entry(training), children: [{ ...child, opts: { ...child.opts, failParentOnFailure: true } }] }), entry(job));
      if (trainings.length) await flows.add(flow);
      else await queue.add(job.kind, { sweep: file.id, job }, entry(job).opts);
    }
  } finally {
    await Promise.all([flows.close(), queue.close()]);
  }
}

export type JobState = 'waiting' | 'waiting-children' | 'active' | 'delayed' | 'prioritized' | 'completed' | 'failed' | 'unknown';

export interface JobStatus {
  sweep: string;
  name: string;
  state: JobState;
  attempts: number;
  progress: JobProgress | null;
  worker?: string;
  error?: string;
  result?: JobResult;
}

export async function jobStatus(job: SweepQueueJob): Promise<JobStatus> {
  const progress = typeof job.progress === 'object' && job.progress !== null ? job.progress as unknown as JobProgress : null;
  return {
    sweep: job.data.sweep, name: job.data.job.name, state: await job.getState() as JobState, attempts: job.attemptsMade,
    progress, worker: job.processedBy, error: job.failedReason || undefined, result: job.returnvalue ?? undefined,
  };
}

/** The state of each of the sweep's jobs. */
export async function sweepStatus(queue: SweepQueue, file: SweepFile): Promise<JobStatus[]> {
  return Promise.all(file.jobs.map(async (job) => {
    const queued = await queue.getJob(jobId(file.id, job.name));
    return queued ? jobStatus(queued) : { sweep: file.id, name: job.name, state: 'unknown' as const, attempts: 0, progress: null };
  }));
}
