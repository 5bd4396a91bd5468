// "Join sweep": the page as a sweep worker. It asks `sgas serve --redis` for a lease, runs the job
// in its engine Worker on its own backend, and posts back its progress (which keeps the lease
// alive), each epoch's checkpoint and its end; then asks for the next job. Leave stops the job
// after the step in progress and hands it back with its checkpoint.
import { epochsDone, etaFrom } from '../cli/progress.ts';
import type { LeaseOffer } from '../sweep/lease.ts';
import type { JobProgress } from '../sweep/runJob.ts';
import { describeLoss } from '../train/deviceLoss.ts';
import type { EngineClient } from './engineClient.ts';
import type { EngineEvent } from './protocol.ts';

/** Engine job numbers of sweep jobs, apart from the page's own searches'. */
const FIRST_JOB = 1_000_000;
const PROGRESS_EVERY_MS = 1000;
const IDLE_MS = 2000;

export class SweepJoin {
  private joined = false;
  private job = FIRST_JOB;
  private running: number | null = null;
  /** Posts about a lease, in the order they were made (an epoch's checkpoint before the job's end). */
  private posting: Promise<unknown> = Promise.resolve();

  constructor(private readonly engine: EngineClient, private readonly token: string | null, private readonly status: (text: string) => void) {}

  private request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.token) headers.set('Authorization', `Bearer ${this.token}`);
    return fetch(path, { ...init, headers });
  }

  /** Whether the server lends sweep jobs to this page. */
  async lending(): Promise<boolean> {
    const response = await this.request('sweep').catch(() => null);
    return response?.ok ?? false;
  }

  get active(): boolean {
    return this.joined;
  }

  /** Runs leased jobs one after another until leave(). */
  async join(): Promise<void> {
    this.joined = true;
    while (this.joined) {
      const response = await this.request('sweep/lease', { method: 'POST' });
      if (response.status === 204) {
        this.status('joined: waiting for a job');
        await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
        continue;
      }
      if (!response.ok) {
        this.joined = false;
        this.status(`could not join: ${((await response.json().catch(() => ({}))) as { error?: string }).error ?? `HTTP ${response.status}`}`);
        return;
      }
      await this.run(await response.json() as LeaseOffer);
    }
    this.status('left the sweep');
  }

  /** Stops the job in progress after its step; its checkpoint goes back with it. */
  leave(): void {
    this.joined = false;
    if (this.running !== null) this.engine.send({ type: 'stop', job: this.running, then: 'pause' });
  }

  private post(lease: string, action: string, body: BodyInit, json = true): Promise<Response> {
    const sent = this.posting.then(() => this.request(`sweep/lease/${lease}/${action}`, {
      method: 'POST', body, headers: { 'Content-Type': json ? 'application/json' : 'application/octet-stream' },
    }));
    this.posting = sent.catch(() => {});
    return sent;
  }

  private async run(offer: LeaseOffer): Promise<void> {
    const checkpoint = offer.checkpoint ? new Uint8Array(await (await this.request(`sweep/lease/${offer.lease}/checkpoint`)).arrayBuffer()) : null;
    const job = ++this.job;
    this.running = job;
    this.status(`running ${offer.name} of sweep ${offer.sweep}${checkpoint ? ', from its checkpoint' : ''}`);
    let first: { at: number; done: number } | null = null;
    let reported = 0;
    await new Promise<void>((resolve) => {
      const finish = async (action: string, body: BodyInit, json = true) => {
        stop();
        this.running = null;
        await this.post(offer.lease, action, body, json).catch(() => {});
        resolve();
      };
      const stop = this.engine.listen((event: EngineEvent) => {
        if (!('job' in event) || event.job !== job) return;
        switch (event.type) {
          case 'job-step': {
            const { epoch, epochs, step, steps, loss } = event.info;
            const done = epochsDone(event.info);
            first ??= { at: performance.now(), done };
            if (performance.now() - reported < PROGRESS_EVERY_MS) return;
            reported = performance.now();
            const eta = etaFrom(first, done, epochs);
            const progress: JobProgress = { epoch, epochs, step, steps, loss, eta: Number.isFinite(eta) ? eta : null };
            this.status(`${offer.name}: epoch ${epoch + 1}/${epochs} step ${step}/${steps}, loss ${loss.toFixed(4)}`);
            void this.post(offer.lease, 'progress', JSON.stringify(progress)).then((r) => {
              // The lease ran out (the page was too slow to report): the job is another worker's now.
              if (r.status === 410) this.engine.send({ type: 'stop', job, then: 'discard' });
            }, () => {});
            return;
          }
          case 'device-lost':
            this.status(`${offer.name}: ${describeLoss(event.loss)}`);
            return;
          case 'job-epoch':
            void this.post(offer.lease, 'epoch', event.checkpoint as BodyInit, false).catch(() => {});
            return;
          case 'job-stopped':
            return void finish('stop', (event.checkpoint ?? new Uint8Array()) as BodyInit, false);
          case 'job-finished':
            this.status(`${offer.name}: done`);
            return void finish('finish', JSON.stringify(event.result));
          case 'failed':
            return void finish('fail', JSON.stringify({ message: event.message }));
          case 'discarded':
            stop();
            this.running = null;
            return resolve();
        }
      });
      this.engine.send({ type: 'sweep-job', job, work: offer.work, checkpoint });
    });
  }
}
