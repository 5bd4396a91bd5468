// A sweep job in the engine Worker, leased by the page from `sgas serve --redis`: a search or a
// training built from its config (or its stored checkpoint), run step by step with each step and
// each epoch's checkpoint posted, and stopped after the step in progress when the page leaves the
// sweep, with the checkpoint to hand back.
import type { Backend } from '../../runtime/index.ts';
import type { Dataset } from '../data/dataset.ts';
import { prepareTrainData, Trainer } from '../eval/train.ts';
import { searchReport } from '../search/report.ts';
import { prepareSearchData, Search } from '../search/search.ts';
import type { EngineEvent, SweepWork, SweepWorkResult } from './protocol.ts';
import { nextTask } from './searchJob.ts';

type Post = (event: EngineEvent) => void;

const SOURCE = 'the sweep job\'s stored checkpoint';

export class SweepJobRun {
  private loop: Search | Trainer | null = null;
  private stopping = false;
  private running: Promise<void> | null = null;

  constructor(readonly job: number, private readonly post: Post) {}

  start(backend: Backend, work: SweepWork, checkpoint: Uint8Array | null, train: Promise<Dataset>, test: () => Promise<Dataset>): Promise<void> {
    this.running = this.run(backend, work, checkpoint, train, test);
    return this.running;
  }

  private async build(backend: Backend, work: SweepWork, checkpoint: Uint8Array | null, train: Promise<Dataset>, test: () => Promise<Dataset>): Promise<Search | Trainer> {
    if (work.kind === 'search') {
      const images = await train;
      return checkpoint ? Search.fromCheckpoint(backend, checkpoint, images, SOURCE) : new Search(backend, work.config, prepareSearchData(images, work.config));
    }
    const [images, testImages] = await Promise.all([train, test()]);
    return checkpoint
      ? Trainer.fromCheckpoint(backend, checkpoint, images, testImages, SOURCE)
      : new Trainer(backend, work.config, work.genotype, prepareTrainData(images, testImages, work.config));
  }

  private async run(backend: Backend, work: SweepWork, checkpoint: Uint8Array | null, train: Promise<Dataset>, test: () => Promise<Dataset>): Promise<void> {
    try {
      const loop = (this.loop = await this.build(backend, work, checkpoint, train, test));
      if (!this.stopping) {
        await loop.run({
          step: (info) => {
            this.post({ type: 'job-step', job: this.job, info });
            return nextTask();
          },
          checkpoint: (bytes) => this.post({ type: 'job-epoch', job: this.job, checkpoint: bytes }),
        });
      }
      if (!loop.finished) return this.post({ type: 'job-stopped', job: this.job, checkpoint: loop.stoppedAt ? await loop.checkpoint() : null });
      this.post({ type: 'job-finished', job: this.job, result: await resultOf(loop) });
    } catch (e) {
      this.post({ type: 'failed', job: this.job, message: (e as Error).message });
    } finally {
      this.loop?.release();
      this.loop = null;
    }
  }

  /** Stops after the step in progress; resolves once the job has posted how it ended. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.loop?.requestStop();
    await this.running;
  }
}

async function resultOf(loop: Search | Trainer): Promise<SweepWorkResult> {
  if (loop instanceof Search) return { kind: 'search', report: searchReport(loop, await loop.result()) };
  return { kind: 'train', testImages: loop.data.test.n, parameters: loop.net.parameterCounts() };
}
