// `sgas worker --redis URL`: runs sweep jobs from the queue on this machine until stopped; Ctrl-C
// (or SIGTERM) stops its jobs after their step in progress and hands them back with their
// checkpoints. `sgas worker --local` is a local sweep's worker process (src/sweep/localWorker.ts).
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Backend } from '../../runtime/index.ts';
import { serveLocalJobs } from '../sweep/localWorker.ts';
import { reachRedis } from '../sweep/queue.ts';
import { startWorker } from '../sweep/worker.ts';
import { checkNumericFlags, numberFlag, numericOptions, parseFlags, POSITIVE, POSITIVE_INTEGER, UsageError } from './args.ts';

export const WORKER_FLAG_RANGES = { concurrency: POSITIVE_INTEGER, 'stalled-after': POSITIVE };

export const WORKER_HELP = `usage: sgas worker --redis redis://HOST:PORT [--backend auto|webgpu|wasm] [--adapter INDEX|TEXT] [--kernels auto|tune|plain|tiled] [--concurrency 1] [--store DIR] [--work DIR]

Takes the jobs of sgas sweep --redis from the queue and runs them here, reporting each job's
progress (epoch, loss, ETA) on it and keeping each epoch's checkpoint with it: in Redis, or in
--store DIR when that is a folder every worker shares. A job whose worker dies (killed, or cut
off for longer than --stalled-after seconds, default 30) is taken over by another worker from its
last checkpoint. Ctrl-C stops after the step in progress and hands the job back.

  --concurrency N    jobs at once in this process (default 1)
  --work DIR         where jobs run meanwhile (default: a folder under ${tmpdir()})
`;

export async function workerCommand(argv: string[], backend: () => Promise<Backend>): Promise<number> {
  const { values } = parseFlags('worker', argv, {
    ...numericOptions(WORKER_FLAG_RANGES), redis: { type: 'string' }, store: { type: 'string' }, work: { type: 'string' },
    local: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
  });
  checkNumericFlags(values, WORKER_FLAG_RANGES);
  if (values.help) {
    process.stdout.write(WORKER_HELP);
    return 0;
  }
  if (values.local) {
    if (!process.send) throw new UsageError('worker --local is started by sgas sweep --jobs N, not by hand');
    return serveLocalJobs(backend);
  }
  if (!values.redis) throw new UsageError('worker: --redis redis://HOST:PORT is required (the queue sgas sweep --redis put the jobs on)');
  await reachRedis(values.redis);
  const log = (line: string) => process.stderr.write(line + '\n');
  const worker = await startWorker({
    redis: values.redis, backend: await backend(), log,
    concurrency: numberFlag('concurrency', values.concurrency, 1, POSITIVE_INTEGER),
    stalledAfterMs: 1000 * numberFlag('stalled-after', values['stalled-after'], 30, POSITIVE),
    store: values.store, work: values.work ?? join(tmpdir(), `sgas-worker-${process.pid}`),
  });
  const stop = () => {
    log('sgas worker: stopping after the step in progress; its job goes back to the queue (Ctrl-C again ends it at once)');
    process.once('SIGINT', () => process.exit(130));
    void worker.stop();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await worker.closed;
  return 0;
}
