// How sgas search and sgas train run their loop: progress with ETA, log.jsonl, an atomic checkpoint
// after every epoch, the memory plan, the device report (a lost device survived, the autotune,
// --profile), and out-of-memory errors with what to change.
import { join } from 'node:path';
import type { Backend } from '../../runtime/index.ts';
import { runSurvivingDeviceLoss } from '../train/deviceLoss.ts';
import type { LoopObserver, LoopStep } from '../train/loop.ts';
import { describePlan, withMemoryHint, type MemoryPlan } from '../train/memory.ts';
import { DeviceReport } from './deviceReport.ts';
import { JsonLines, writeFileAtomic } from './files.ts';
import { Progress } from './progress.ts';

/** A Search or a Trainer, as the loop drives it. */
export interface CliRunner<Step extends LoopStep, Epoch, Result> {
  readonly backend: Backend;
  readonly epoch: number;
  readonly epochs: number;
  readonly net: { recomputeCells: boolean };
  run(observer: LoopObserver<Step, Epoch>): Promise<Result>;
  memoryPlan(): Promise<MemoryPlan>;
  restart(backend: Backend, checkpoint: Uint8Array | null): this;
  release(): void;
}

export interface LoopSpec<Step, Epoch, R> {
  /** "sgas search: …" */
  title: string;
  out: string;
  stepsPerEpoch: number;
  profile: boolean;
  /** The checkpoint the run was resumed from, if it was. */
  resumedFrom: Uint8Array | null;
  /** The progress bar's metrics beyond epoch and step. */
  metrics(step: Step): Record<string, number>;
  epochLine(record: Epoch): string;
  /** After an epoch is logged, with the runner now going (a new one after a lost device). */
  afterEpoch?(record: Epoch, runner: R): void;
}

export async function runLoop<Step extends LoopStep, Epoch, Result, R extends CliRunner<Step, Epoch, Result>>(
  first: R, spec: LoopSpec<Step, Epoch, R>,
): Promise<{ runner: R; result: Result }> {
  const { out, stepsPerEpoch } = spec;
  const log = new JsonLines(join(out, 'log.jsonl'));
  const progress = new Progress(first.epochs * stepsPerEpoch);
  progress.log(`${spec.title}; writing to ${out}`);
  const plan = describePlan(await first.memoryPlan());
  if (plan) progress.log(plan);
  let runner = first;
  let done = runner.epoch * stepsPerEpoch;
  const device = new DeviceReport(runner.backend, spec.profile, out, progress, log);
  try {
    const finished = await runSurvivingDeviceLoss<Step, Epoch, R>(runner, {
      step: async (s) => {
        done++;
        progress.update(done, { epoch: s.epoch, epochs: s.epochs, step: s.step, steps: s.steps, ...spec.metrics(s) });
        await device.step(s.step, s.steps);
      },
      epoch: (r) => {
        progress.log(spec.epochLine(r));
        log.write({ type: 'epoch', ...r });
        device.epoch();
        spec.afterEpoch?.(r, runner);
      },
      checkpoint: (bytes) => writeFileAtomic(join(out, 'checkpoint.bin'), bytes),
    }, {
      from: spec.resumedFrom,
      restart: (backend, checkpoint) => runner.restart(backend, checkpoint),
      report: (loss, resumed) => {
        runner = resumed;
        done = runner.epoch * stepsPerEpoch;
        device.lost(loss, resumed.backend);
      },
    });
    progress.done();
    await device.finish();
    return finished as { runner: R; result: Result };
  } catch (e) {
    throw withMemoryHint(e, runner.net.recomputeCells);
  }
}
