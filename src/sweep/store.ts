// Where a queued job's run folder is kept between workers: after every epoch (and when the job
// ends or is handed back) the worker puts the folder's files there, and whoever takes the job next,
// another worker or the sweep collecting its results, gets them back. In Redis beside the queue
// (a hash per job), or in a folder every worker shares (--store DIR). Which one a job's files are
// in is noted in Redis, so a reader needs no flag to find them.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Redis } from 'ioredis';
import { ensureFolder, writeFileAtomic } from '../cli/files.ts';
import { CHECKPOINT, PREVIOUS_CHECKPOINT } from '../cli/checkpointFiles.ts';
import { LOCK_FILE } from '../cli/runLock.ts';

const filesKey = (sweep: string, job: string) => `sgas:files:${sweep}:${job}`;
const whereKey = (sweep: string) => `sgas:stores:${sweep}`;
const IN_REDIS = 'redis';

/** A run folder's files, the checkpoints last, so that a reader never sees a checkpoint newer than its log. */
function folderFiles(dir: string): [string, Buffer][] {
  if (!existsSync(dir)) return [];
  const names = readdirSync(dir).filter((n) => n !== LOCK_FILE && !n.endsWith('.tmp') && statSync(join(dir, n)).isFile());
  const last = (n: string) => (n === CHECKPOINT ? 2 : n === PREVIOUS_CHECKPOINT ? 1 : 0);
  return names.sort((a, b) => last(a) - last(b)).map((n) => [n, readFileSync(join(dir, n))]);
}

function writeFiles(dir: string, files: Iterable<[string, Buffer]>): number {
  ensureFolder(dir);
  let count = 0;
  for (const [name, bytes] of files) {
    // Names come from our own folders; anything else is not ours to write.
    if (!/^[\w.-]+$/.test(name)) continue;
    writeFileAtomic(join(dir, name), bytes);
    count++;
  }
  return count;
}

export class JobStore {
  /** folder: the shared store's root; null: Redis. */
  constructor(private readonly redis: Redis, readonly folder: string | null) {
    if (folder) ensureFolder(folder);
  }

  private jobFolder(root: string, sweep: string, job: string): string {
    return join(root, sweep, job);
  }

  /** Keeps the files of `dir` as job `job`'s, replacing what was kept. */
  async put(sweep: string, job: string, dir: string): Promise<void> {
    const files = folderFiles(dir);
    if (this.folder) {
      writeFiles(this.jobFolder(this.folder, sweep, job), files);
    } else {
      const key = filesKey(sweep, job);
      if (files.length) await this.redis.multi().del(key).hset(key, ...files.flat()).exec();
    }
    await this.redis.hset(whereKey(sweep), job, this.folder ? resolve(this.folder) : IN_REDIS);
  }

  /** Writes the files kept for the job into `dir`, wherever they were put; how many there were. */
  async get(sweep: string, job: string, dir: string): Promise<number> {
    const where = await this.redis.hget(whereKey(sweep), job);
    if (!where) return 0;
    if (where === IN_REDIS) {
      const files = await this.redis.hgetallBuffer(filesKey(sweep, job));
      return writeFiles(dir, Object.entries(files));
    }
    const kept = this.jobFolder(where, sweep, job);
    if (!existsSync(kept)) {
      throw new Error(`the files of ${job} were kept in ${where}, which this machine does not see: give every worker the same --store folder, shared by all of them`);
    }
    return writeFiles(dir, folderFiles(kept));
  }
}
