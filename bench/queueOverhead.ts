// What the queue costs a sweep job (issue goal: at most 1 s a job): the same tiny search run
// directly with runJob() and through BullMQ on a real redis-server (queued, taken by a worker,
// its progress and each epoch's checkpoint stored in Redis, completed, then its files fetched as
// the sweep collects them). Worker and direct runs share this process and one backend, and
// alternate, so load from other work on the machine falls on both alike.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Backend } from '../runtime/index.ts';
import { planJobs } from '../src/sweep/plan.ts';
import { bullmq, connection, enqueue, jobId, QUEUE, redisClient } from '../src/sweep/queue.ts';
import { runJob } from '../src/sweep/runJob.ts';
import { JobStore } from '../src/sweep/store.ts';
import { startWorker } from '../src/sweep/worker.ts';
import { startRedis } from '../test/helpers/redis.ts';
import { percentile } from './pageLatency.ts';

export interface QueueOverheadResult {
  job: string;
  rounds: number;
  directSeconds: number[];
  queuedSeconds: number[];
  /** Median queued − median direct. */
  overheadSeconds: number;
  goalSeconds: number;
  load: [number, number];
}


export async function benchQueueOverhead(backend: Backend, rounds: number, log: (line: string) => void): Promise<QueueOverheadResult> {
  const load0 = loadavg()[0]!;
  const redis = await startRedis();
  const scratch = mkdtempSync(join(tmpdir(), 'sgas-bench-queue-'));
  const worker = await startWorker({ redis: redis.url, backend, concurrency: 1, work: join(scratch, 'work'), stalledAfterMs: 30_000, log: () => {} });
  const { QueueEvents, Queue } = await bullmq();
  const events = new QueueEvents(QUEUE, { connection: connection(redis.url) });
  const queue = new Queue(QUEUE, { connection: connection(redis.url) });
  const client = await redisClient(redis.url);
  const store = new JobStore(client, null);
  const [job] = planJobs({ seeds: [1], criteria: [1], preset: 'tiny', trainPreset: null, random: 0, baselines: [] });
  const direct: number[] = [];
  const queued: number[] = [];
  try {
    await events.waitUntilReady();
    for (let round = 0; round < rounds; round++) {
      let started = performance.now();
      await runJob(job!, { dir: join(scratch, `direct-${round}`), backend });
      direct.push((performance.now() - started) / 1000);

      const sweep = `bench-${round}`;
      started = performance.now();
      await enqueue(redis.url, { id: sweep, jobs: [job!] });
      await (await queue.getJob(jobId(sweep, job!.name)))!.waitUntilFinished(events);
      await store.get(sweep, job!.name, join(scratch, `queued-${round}`));
      queued.push((performance.now() - started) / 1000);
      log(`  round ${round + 1}: direct ${direct.at(-1)!.toFixed(2)} s, through the queue ${queued.at(-1)!.toFixed(2)} s`);
    }
  } finally {
    await Promise.all([worker.stop(), events.close(), queue.close(), client.quit()]);
    await redis.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
  return {
    job: `${job!.name} (tiny preset, 9 epochs, a checkpoint stored each)`, rounds, directSeconds: direct, queuedSeconds: queued,
    overheadSeconds: percentile(queued, 50) - percentile(direct, 50), goalSeconds: 1, load: [load0, loadavg()[0]!],
  };
}
