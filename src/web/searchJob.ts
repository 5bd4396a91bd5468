// One search in the engine Worker: built from settings or checkpoint bytes, run step by step with
// every step and epoch posted to the page, stopped after the step in progress when the page asks
// (paused: kept here to continue, and its checkpoint posted; discarded: released).
import type { Backend } from '../../runtime/index.ts';
import type { Dataset } from '../data/dataset.ts';
import { searchReport } from '../search/report.ts';
import { prepareSearchData, Search, withDataImageSize } from '../search/search.ts';
import type { EngineEvent, SearchSettings, StepPosition } from './protocol.ts';

type Post = (event: EngineEvent) => void;

export type SearchSource = { settings: SearchSettings } | { checkpoint: Uint8Array; source: string };

export class SearchJob {
  private search: Search | null = null;
  /** What the page asked for while the job ran; acted on after the step in progress. */
  private stopping: 'pause' | 'discard' | null = null;
  private running: Promise<void> | null = null;

  constructor(readonly job: number, private readonly post: Post) {}

  /** Builds the search (the page sees `loading`, then `running`) and runs it until it ends or stops. */
  start(backend: Backend, data: Promise<Dataset>, from: SearchSource): Promise<void> {
    this.post({ type: 'loading', job: this.job });
    return this.drive(async () => {
      const images = await data;
      if ('settings' in from) {
        const config = withDataImageSize(from.settings.config, images);
        this.search = new Search(backend, config, prepareSearchData(images, config));
      } else {
        this.search = Search.fromCheckpoint(backend, from.checkpoint, images, from.source);
      }
    });
  }

  /** Continues the search this job paused. */
  resume(): Promise<void> {
    if (!this.search || this.running) throw new Error(`search ${this.job} is not paused here`);
    this.stopping = null;
    return this.drive(async () => {});
  }

  /** Stops after the step in progress (at once if it is paused; before its first step if it has not started); resolves when it has. */
  async stop(then: 'pause' | 'discard'): Promise<void> {
    this.stopping = then;
    this.search?.requestStop();
    if (this.running) await this.running;
    else if (then === 'discard' && this.search) this.discard();
  }

  private drive(prepare: () => Promise<void>): Promise<void> {
    this.running = this.runToStop(prepare).finally(() => (this.running = null));
    return this.running;
  }

  private async runToStop(prepare: () => Promise<void>): Promise<void> {
    try {
      await prepare();
      const search = this.search!;
      if (this.stopping) return await this.stopped(search);
      this.post({ type: 'running', job: this.job, config: search.config, records: [...search.records], at: position(search) });
      const result = await search.run({
        step: (info) => {
          this.post({ type: 'step', job: this.job, info });
          return nextTask();
        },
        checkpoint: (checkpoint) => this.post({ type: 'epoch', job: this.job, record: search.records.at(-1)!, checkpoint }),
      });
      if (!result) return await this.stopped(search);
      this.post({ type: 'finished', job: this.job, report: searchReport(search, result) });
      this.release();
    } catch (e) {
      this.release();
      this.post({ type: 'failed', job: this.job, message: (e as Error).message });
    }
  }

  private async stopped(search: Search): Promise<void> {
    if (this.stopping === 'discard') return this.discard();
    this.post({ type: 'paused', job: this.job, checkpoint: await search.checkpoint(), at: position(search) });
  }

  private discard(): void {
    this.release();
    this.post({ type: 'discarded', job: this.job });
  }

  release(): void {
    this.search?.release();
    this.search = null;
  }
}

/**
 * Lets the Worker take its pending messages (a stop) between steps: WebAssembly steps never wait
 * on anything but microtasks, so without this the loop would hold the Worker until it ended.
 */
export const nextTask = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

function position(search: Search): StepPosition | null {
  const at = search.stoppedAt;
  return at && { epoch: at.epoch, step: at.step, steps: at.steps };
}
