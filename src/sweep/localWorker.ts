// `sgas worker --local`: a local sweep's worker process. It takes jobs from its parent over IPC,
// runs them on one backend and reports back; a stop message (the parent's Ctrl-C) stops the job
// after the step in progress, its checkpoint saved. It ends when its parent lets it go.
import { once } from 'node:events';
import { createBackend, type Backend } from '../../runtime/index.ts';
import { closeBackend } from '../jobs/runLoop.ts';
import type { BackendChoice } from '../jobs/options.ts';
import type { FromLocalWorker, ToLocalWorker } from './local.ts';
import { runJob } from './runJob.ts';

export async function serveLocalJobs(choice: BackendChoice): Promise<number> {
  const send = (message: FromLocalWorker) => process.send!(message);
  let backend: Promise<Backend> | null = null;
  let running: AbortController | null = null;
  // Ctrl-C reaches the whole process group; the parent turns it into a stop message.
  process.on('SIGINT', () => {});
  process.on('message', async (message: ToLocalWorker) => {
    if (message.type === 'stop') return running?.abort();
    running = new AbortController();
    try {
      backend ??= createBackend({ backend: choice });
      const result = await runJob(message.job, {
        dir: message.dir, genotype: message.genotype, backend: await backend, signal: running.signal,
        progress: (progress) => void send({ type: 'progress', progress }),
      });
      send({ type: 'done', result });
    } catch (e) {
      send({ type: 'failed', message: (e as Error).message, stopped: (e as Error).name === 'AbortError' });
    } finally {
      running = null;
    }
  });
  await once(process, 'disconnect');
  await closeBackend(backend);
  return 0;
}
