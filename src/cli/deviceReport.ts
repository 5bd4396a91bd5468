// What a search or a training run says about its device besides the epochs: a lost device and where
// the run went on, the autotune's kernel choices, and with --profile each kernel's share of a step
// (said, and written to profile.json). Part of every search and training run in a folder (runInFolder).
import { join } from 'node:path';
import type { Backend, WebGpuBackend } from '../../runtime/index.ts';
import { describeLoss, type DeviceLoss } from '../train/deviceLoss.ts';
import { writeFileAtomic, type JsonLines } from './files.ts';
import { profileTable, StepProfiler } from './profile.ts';

export class DeviceReport {
  private readonly profiler: StepProfiler | null;
  private backend: Backend;
  private tunedShown = 0;

  /** `say` tells the user (above a progress bar); `log` is the run's log.jsonl. */
  constructor(backend: Backend, profile: boolean, private readonly out: string, private readonly say: (line: string) => void, private readonly log: JsonLines) {
    this.backend = backend;
    this.profiler = profile ? new StepProfiler(backend) : null;
    if (this.profiler && !this.profiler.active) say('--profile: the WebAssembly backend has no device timing; profiling is for WebGPU');
    this.profiler?.start();
  }

  async step(step: number, steps: number): Promise<void> {
    await this.profiler?.step(step, steps);
  }

  /** After an epoch: what the autotune chose since the last one, and profiling goes on. */
  epoch(): void {
    const tuner = (this.backend as Partial<WebGpuBackend>).tuner;
    if (tuner && tuner.tuned.length > this.tunedShown) {
      const fresh = tuner.tuned.slice(this.tunedShown);
      this.tunedShown = tuner.tuned.length;
      const count = (name: string) => fresh.filter((k) => k.chosen === name).length;
      const timed = fresh.filter((k) => Object.keys(k.ms).length).length;
      this.say(`kernels: ${fresh.length} shapes autotuned (${timed} timed in ${tuner.seconds.toFixed(1)} s, ${fresh.length - timed} from ${tuner.store?.where ?? 'this run'}): ` +
        `tiled for ${count('tiled')}, plain for ${count('plain')}`);
      this.log.write({ type: 'autotune', kernels: fresh });
    }
    this.profiler?.start();
  }

  /** A lost device, survived: said above the bar, logged, and the new backend watched. */
  lost(loss: DeviceLoss, backend: Backend): void {
    this.say(describeLoss(loss));
    this.log.write({ type: 'device-lost', ...loss });
    this.backend = backend;
    this.tunedShown = 0;
    this.profiler?.switchTo(backend);
    this.profiler?.start();
  }

  async finish(): Promise<void> {
    if (!this.profiler?.active) return;
    const profile = await this.profiler.report();
    this.say(profileTable(profile));
    writeFileAtomic(join(this.out, 'profile.json'), JSON.stringify(profile, null, 2) + '\n');
  }
}
