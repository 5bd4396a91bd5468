// `sgas serve --redis URL`: lends sweep jobs to pages over HTTP. A page asks for a lease; this
// takes a job from the queue as a BullMQ worker would (its lock, its stalled-job handling) and
// hands the page the job's config and stored checkpoint. The page computes; every progress report
// renews the job's lock, every epoch's checkpoint goes into the job's run folder here (log.jsonl,
// figures, checkpoint.bin, as sgas search and sgas train write them) and into the job store. A
// page that goes away stops renewing: the lock runs out and a Node worker takes the job over.
// Only loopback clients are answered, unless a token is set; then every request must carry it.
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { EMBEDDED_SOURCE } from '../data/load.ts';
import { CHECKPOINT, readCheckpoint, writeCheckpoint } from '../cli/checkpointFiles.ts';
import { JsonLines, writeFileAtomic } from '../cli/files.ts';
import { genotypeFlag } from '../cli/genotypeFlag.ts';
import { writeSearchPlots } from '../cli/searchPlots.ts';
import { searchConfigOf, trainConfigOf } from '../jobs/options.ts';
import { writeSearchResult } from '../jobs/search.ts';
import { trainReport } from '../jobs/train.ts';
import { decodeCheckpoint } from '../search/checkpoint.ts';
import { parseGenotype, type Genotype } from '../search/genotype.ts';
import type { SearchReport } from '../search/report.ts';
import type { SweepWork, SweepWorkResult } from '../web/protocol.ts';
import type { JobProgress, JobResult } from './runJob.ts';
import { bullmq, connection, QUEUE, redisClient, type QueuedJob, type SweepQueueJob } from './queue.ts';
import { JobStore } from './store.ts';

/** What a lease request answers: the job to run and whether it continues from a checkpoint. */
export interface LeaseOffer {
  lease: string;
  sweep: string;
  name: string;
  work: SweepWork;
  /** GET /sweep/lease/ID/checkpoint has the checkpoint to continue from. */
  checkpoint: boolean;
}

interface Lease {
  job: SweepQueueJob;
  token: string;
  dir: string;
  preset: string;
  work: SweepWork;
  /** The last epoch's checkpoint the page posted. */
  checkpoint: Uint8Array | null;
}

export interface LeaseDeskOptions {
  redis: string;
  /** Required of every request when set; without it only loopback clients are answered. */
  token?: string;
  /** Where leased jobs' run folders are kept meanwhile. */
  work: string;
  /** A lease not renewed (by a progress report) for this long is lost to another worker. */
  stalledAfterMs: number;
  log(line: string): void;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

/** Whether a lease request may be answered: from a loopback peer without a token configured, or carrying the token. */
export function leaseAllowed(peer: string | undefined, token: string | undefined, given: string | null): boolean {
  if (!token) return peer !== undefined && LOOPBACK.test(peer);
  if (given === null) return false;
  const [a, b] = [Buffer.from(given), Buffer.from(token)];
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The token a request carries: `Authorization: Bearer T` (or ?token=T, as the page's own URL has it). */
function tokenOf(req: IncomingMessage): string | null {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7);
  return new URL(req.url ?? '/', 'http://x').searchParams.get('token');
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export class LeaseDesk {
  private readonly leases = new Map<string, Lease>();

  private constructor(
    private readonly options: LeaseDeskOptions, private readonly worker: Worker<QueuedJob, JobResult>, private readonly redis: Redis, private readonly store: JobStore,
  ) {}

  static async open(options: LeaseDeskOptions): Promise<LeaseDesk> {
    const { Worker } = await bullmq();
    const worker = new Worker<QueuedJob, JobResult>(QUEUE, null, {
      connection: connection(options.redis), autorun: false, lockDuration: options.stalledAfterMs, name: 'sgas serve (pages)',
    });
    worker.on('error', (e) => options.log(`sgas serve: Redis: ${e.message} (retrying)`));
    const redis = await redisClient(options.redis);
    return new LeaseDesk(options, worker, redis, new JobStore(redis, null));
  }

  /** Answers a request under /sweep; false for any other path. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path !== '/sweep' && !path.startsWith('/sweep/')) return false;
    const reply = (status: number, value?: unknown) => {
      res.writeHead(status, { 'Content-Type': value instanceof Uint8Array ? 'application/octet-stream' : 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(value instanceof Uint8Array ? value : value === undefined ? undefined : JSON.stringify(value));
    };
    try {
      if (!leaseAllowed(req.socket.remoteAddress, this.options.token, tokenOf(req))) {
        throw new HttpError(this.options.token ? 401 : 403, this.options.token ? 'a sweep token is required (?token=T on the page\'s URL)' : 'sweep jobs are lent to this machine\'s pages only (start sgas serve with --token T to lend them to others)');
      }
      // /sweep: whether jobs are lent here; /sweep/lease: a new lease; /sweep/lease/ID/ACTION: about one.
      const [kind, id, action] = path.split('/').slice(2);
      if (kind === undefined) {
        reply(200, { lending: true });
        return true;
      }
      if (kind !== 'lease') throw new HttpError(404, `unknown path ${path}`);
      if (req.method !== 'POST' && !(req.method === 'GET' && action === 'checkpoint')) throw new HttpError(405, 'POST only');
      if (id === undefined) {
        const offer = await this.lend();
        if (offer) reply(200, offer);
        else reply(204);
        return true;
      }
      const lease = this.leases.get(id);
      if (!lease) throw new HttpError(410, 'no such lease (it ended, or was lost to another worker)');
      switch (action) {
        case 'checkpoint':
          reply(200, lease.checkpoint ?? readCheckpoint(join(lease.dir, CHECKPOINT), this.options.log)?.bytes ?? new Uint8Array());
          return true;
        case 'progress': await this.progress(id, lease, JSON.parse(String(await body(req)))); break;
        case 'epoch': await this.epoch(id, lease, new Uint8Array(await body(req))); break;
        case 'stop': await this.stop(id, lease, new Uint8Array(await body(req))); break;
        case 'finish': await this.finish(id, lease, JSON.parse(String(await body(req)))); break;
        case 'fail': {
          const { message } = JSON.parse(String(await body(req))) as { message: string };
          await this.end(id, lease, (l) => l.job.moveToFailed(new Error(message), l.token));
          break;
        }
        default: throw new HttpError(404, `unknown action ${action}`);
      }
      reply(200, { ok: true });
    } catch (e) {
      reply(e instanceof HttpError ? e.status : 500, { error: (e as Error).message });
    }
    return true;
  }

  /** Takes the next job off the queue for a page; null when there is none it can run. */
  private async lend(): Promise<LeaseOffer | null> {
    const token = randomUUID();
    const job = await this.worker.getNextJob(token, { block: false }) as SweepQueueJob | undefined;
    if (!job) return null;
    const { sweep, job: sweepJob } = job.data;
    if (sweepJob.options.data) {
      // The page has the embedded images only: a job on a --data folder waits for a Node worker.
      await job.moveToWait(token);
      return null;
    }
    const dir = join(this.options.work, sweep, sweepJob.name);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    await this.store.get(sweep, sweepJob.name, dir);
    const { preset, work } = await this.workOf(job);
    const lease = randomUUID();
    this.leases.set(lease, { job, token, dir, preset, work, checkpoint: null });
    this.options.log(`${sweepJob.name}: lent to a page (lease ${lease.slice(0, 8)})`);
    return { lease, sweep, name: sweepJob.name, work, checkpoint: existsSync(join(dir, CHECKPOINT)) };
  }

  /** The job as the page runs it: its config (the preset and overrides resolved) and, for a training, its genotype. */
  private async workOf(job: SweepQueueJob): Promise<{ preset: string; work: SweepWork }> {
    const { job: sweepJob } = job.data;
    if (sweepJob.kind === 'search') {
      const { preset, config } = searchConfigOf(sweepJob.options);
      return { preset, work: { kind: 'search', config } };
    }
    const { preset, config } = trainConfigOf(sweepJob.options);
    return { preset, work: { kind: 'train', config, genotype: await this.genotype(job) } };
  }

  private async genotype(job: SweepQueueJob): Promise<Genotype> {
    const { job: sweepJob } = job.data;
    if (sweepJob.kind !== 'train') throw new Error('not a training');
    if (!sweepJob.after) {
      const given = sweepJob.options.genotype;
      return typeof given === 'object' ? parseGenotype(JSON.stringify(given)) : genotypeFlag(given, 'train');
    }
    const [found] = Object.values(await job.getChildrenValues<JobResult>());
    if (!found) throw new Error(`its search ${sweepJob.after} left no genotype`);
    return parseGenotype(found.python);
  }

  /** Renews the lease's lock; a lease whose lock is gone (taken over meanwhile) is ended. */
  private async renew(id: string, lease: Lease): Promise<void> {
    if (!(await lease.job.extendLock(lease.token, this.options.stalledAfterMs))) {
      this.drop(id, lease);
      throw new HttpError(410, 'the lease was lost: the job went to another worker');
    }
  }

  private async progress(id: string, lease: Lease, progress: JobProgress): Promise<void> {
    await this.renew(id, lease);
    await lease.job.updateProgress(progress as unknown as object);
  }

  /** An epoch's checkpoint: the run folder as sgas search or sgas train leaves it after that epoch, then the store. */
  private async epoch(id: string, lease: Lease, bytes: Uint8Array): Promise<void> {
    await this.renew(id, lease);
    const { state } = decodeCheckpoint<{ config: unknown; dataInfo: unknown; records: { epoch: number; epochs: number; trainLoss: number }[] }>(bytes, 'the page\'s checkpoint');
    const { dir } = lease;
    if (!existsSync(join(dir, 'run.json'))) {
      writeFileAtomic(join(dir, 'run.json'), JSON.stringify({
        data: EMBEDDED_SOURCE, dataFormat: 'fashion-mnist', dataInfo: state.dataInfo, skipped: [], preset: lease.preset, config: state.config, browser: true,
        ...(lease.work.kind === 'train' && { genotype: lease.work.genotype }),
      }, null, 2) + '\n');
    }
    const log = new JsonLines(join(dir, 'log.jsonl'));
    log.retain(() => false);
    for (const record of state.records) log.write({ type: 'epoch', ...record });
    if (lease.work.kind === 'search') writeSearchPlots(dir, state.records as never);
    writeCheckpoint(dir, bytes);
    lease.checkpoint = bytes;
    await this.store.put(lease.job.data.sweep, lease.job.data.job.name, dir);
    const last = state.records.at(-1)!;
    await lease.job.updateProgress({ epoch: last.epoch, epochs: last.epochs, step: 0, steps: 0, loss: last.trainLoss, eta: null, saved: true } satisfies JobProgress as unknown as object);
  }

  /** The page left: the stop's checkpoint (if it stopped inside an epoch) is kept, and the job goes back to the queue. */
  private async stop(id: string, lease: Lease, bytes: Uint8Array): Promise<void> {
    if (bytes.length) {
      writeCheckpoint(lease.dir, bytes);
      await this.store.put(lease.job.data.sweep, lease.job.data.job.name, lease.dir);
    }
    await this.end(id, lease, (l) => l.job.moveToWait(l.token));
  }

  /** The job's last files (genotype.json, or result.json), then the job completed with its result. */
  private async finish(id: string, lease: Lease, result: SweepWorkResult): Promise<void> {
    const { dir, job } = lease;
    const { state } = decodeCheckpoint<{ config: never; records: never[] }>(lease.checkpoint ?? readCheckpoint(join(dir, CHECKPOINT), this.options.log)!.bytes, 'the last checkpoint');
    let value: JobResult;
    if (result.kind === 'search') {
      const report: SearchReport = result.report;
      writeSearchResult(dir, report);
      writeSearchPlots(dir, state.records, parseGenotype(report.python));
      value = { name: job.data.job.name, kind: 'search', python: report.python, seconds: report.seconds, validAccuracy: report.validAccuracy };
    } else if (lease.work.kind === 'train') {
      const report = trainReport(lease.work.genotype, state.config, state.records, result.testImages, result.parameters);
      writeFileAtomic(join(dir, 'result.json'), JSON.stringify(report, null, 2) + '\n');
      value = { name: job.data.job.name, kind: 'train', python: report.python, seconds: report.seconds, testAccuracy: report.testAccuracy };
    } else throw new HttpError(400, 'a search lease finished as a training');
    await this.store.put(job.data.sweep, job.data.job.name, dir);
    await this.end(id, lease, (l) => l.job.moveToCompleted(value, l.token, false));
    this.options.log(`${job.data.job.name}: done by a page`);
  }

  private async end(id: string, lease: Lease, settle: (lease: Lease) => Promise<unknown>): Promise<void> {
    try {
      await settle(lease);
    } finally {
      this.drop(id, lease);
    }
  }

  private drop(id: string, lease: Lease): void {
    this.leases.delete(id);
    rmSync(lease.dir, { recursive: true, force: true });
  }

  async close(): Promise<void> {
    await this.worker.close();
    await this.redis.quit().catch(() => {});
  }
}
