// A sweep through the queue: its jobs go on it, workers anywhere run them, and this side waits
// (showing each job's state and progress as it changes), then collects every job's folder from the
// job store into OUT/<job>/ and writes the leaderboard. --detach returns after queueing; --collect
// does the collecting later.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeFileAtomic } from '../cli/files.ts';
import type { Leaderboard } from './leaderboard.ts';
import { FAILED_FILE } from './local.ts';
import { enqueue, openQueue, redisClient, sweepStatus, type JobStatus } from './queue.ts';
import { describeProgress } from './status.ts';
import { JobStore } from './store.ts';
import { finishSweep, type SweepFile } from './sweep.ts';

const FINAL = new Set(['completed', 'failed']);

/** One line per job: its state, tries, where it stands or why it failed. */
export function statusLine(s: JobStatus): string {
  const detail = s.state === 'failed' ? `: ${s.error}` : s.state === 'active' && s.progress ? `  ${describeProgress(s.progress)}` : '';
  const worker = s.state === 'active' && s.worker ? ` on ${s.worker}` : '';
  return `${s.name.padEnd(24)} ${s.state}${worker}${s.attempts ? ` (tries: ${s.attempts})` : ''}${detail}`;
}

/** Waits until every job of the sweep is completed or failed, logging what changes. */
export async function waitForSweep(url: string, file: SweepFile, log: (line: string) => void, signal?: AbortSignal): Promise<void> {
  const queue = await openQueue(url);
  const shown = new Map<string, string>();
  try {
    for (;;) {
      const states = await sweepStatus(queue, file);
      const done = states.filter((s) => FINAL.has(s.state)).length;
      for (const s of states) {
        // A change of state, or a finished epoch: not every step.
        const key = `${s.state} ${s.attempts} ${s.progress?.epoch ?? ''}`;
        if (shown.get(s.name) !== key) log(`[${done}/${states.length}] ${statusLine(s)}`);
        shown.set(s.name, key);
      }
      if (done === states.length) return;
      signal?.throwIfAborted();
      await sleep(1000, undefined, { signal }).catch(() => {});
    }
  } finally {
    await queue.close();
  }
}

/** Gets every job's folder from the store into OUT/<job>/ (a failed job's with failed.json) and writes the leaderboard. */
export async function collectSweep(url: string, file: SweepFile, out: string, log: (line: string) => void): Promise<Leaderboard> {
  const queue = await openQueue(url);
  const redis = await redisClient(url);
  try {
    const store = new JobStore(redis, null);
    const states = await sweepStatus(queue, file);
    for (const s of states) {
      const dir = join(out, s.name);
      await store.get(file.id, s.name, dir);
      rmSync(join(dir, FAILED_FILE), { force: true });
      if (s.state === 'failed') writeFileAtomic(join(dir, FAILED_FILE), JSON.stringify({ name: s.name, error: s.error, attempts: s.attempts }, null, 2) + '\n');
    }
    const open = states.filter((s) => !FINAL.has(s.state));
    if (open.length) log(`sgas sweep: ${open.length} of ${states.length} jobs are not finished yet (${open.map((s) => `${s.name}: ${s.state}`).join(', ')}); the leaderboard lists them so`);
    return finishSweep(file, out, log);
  } finally {
    await Promise.all([queue.close(), redis.quit().catch(() => {})]);
  }
}

/** Queues the sweep; then waits for it and collects it, unless `detach`. */
export async function sweepOnQueue(url: string, file: SweepFile, out: string, options: { detach: boolean; log(line: string): void; signal?: AbortSignal }): Promise<Leaderboard | null> {
  await enqueue(url, file);
  options.log(`sgas sweep: ${file.jobs.length} jobs on ${url} as sweep ${file.id}`);
  if (options.detach) {
    options.log(`sgas sweep: detached; workers take the jobs (sgas worker --redis ${url}); see them with sgas sweep --redis ${url} --status, ` +
      `then write the leaderboard with sgas sweep --redis ${url} --collect --out ${out}`);
    return null;
  }
  await waitForSweep(url, file, options.log, options.signal);
  return collectSweep(url, file, out, options.log);
}
