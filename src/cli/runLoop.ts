// How sgas search and sgas train run their loop in a run folder they hold (run.lock): progress with
// ETA, log.jsonl, checkpoint.bin (and checkpoint.prev.bin) after every epoch, the memory plan, the
// device report (a lost device survived, the autotune, --profile), --stop-after, and errors that say
// what to change (memory) or what is left to resume from (a failed write).
import { join } from 'node:path';
import type { Backend } from '../../runtime/index.ts';
import { runSurvivingDeviceLoss } from '../train/deviceLoss.ts';
import type { LoopObserver, LoopStep } from '../train/loop.ts';
import { describePlan, withMemoryHint, type MemoryPlan } from '../train/memory.ts';
import { numberFlag, POSITIVE_INTEGER, type Range } from './args.ts';
import { CHECKPOINT, readCheckpoint, withResumeHint, writeCheckpoint } from './checkpointFiles.ts';
import { DeviceReport } from './deviceReport.ts';
import { JsonLines } from './files.ts';
import { Progress } from './progress.ts';
import type { RunLock } from './runLock.ts';

/** The flags every run loop takes beside the device flags (RUN_DEVICE_HELP). */
export const RUN_FLAG_RANGES: Record<string, Range> = { 'stop-after': POSITIVE_INTEGER };
/** parseArgs options of the run flags beside the numeric ones (in RUN_FLAG_RANGES). */
export const RUN_FLAGS = { profile: { type: 'boolean' } } as const;
export const RUN_HELP = `  --stop-after N   run at most N epochs now; the checkpoint is kept and --resume continues
`;

/** A Search or a Trainer, as the loop drives it. */
export interface CliRunner<Step extends LoopStep, Epoch, Result> {
  readonly backend: Backend;
  readonly epoch: number;
  readonly epochs: number;
  readonly finished: boolean;
  readonly net: { recomputeCells: boolean };
  /** Where a run stopped inside an epoch stands (a search's); null or absent between epochs. */
  readonly stoppedAt?: { step: number } | null;
  run(observer: LoopObserver<Step, Epoch>): Promise<Result>;
  memoryPlan(): Promise<MemoryPlan>;
  restart(backend: Backend, checkpoint: Uint8Array | null): this;
  /** Stops the run at the end of the epoch in progress (asked between epochs, as here). */
  requestStop(): void;
  release(): void;
}

export interface LoopSpec<Step, Epoch, R> {
  command: 'sgas search' | 'sgas train';
  /** What the header says after the command: "tiny preset, 9 epochs…", "resuming at epoch 3 of 9". */
  what: string;
  out: string;
  lock: RunLock;
  stepsPerEpoch: number;
  /** --profile and --stop-after (Infinity when not given). */
  profile: boolean;
  stopAfter: RunFlags['stopAfter'];
  /** The progress bar's metrics beyond epoch and step. */
  metrics(step: Step): Record<string, number>;
  epochLine(record: Epoch): string;
  /** After an epoch is logged, with the runner now going (a new one after a lost device). */
  afterEpoch?(record: Epoch, runner: R): void;
}

export interface LoopEnd<Result, R> {
  /** The runner that ran last (another than the first after a lost device). */
  runner: R;
  result: Result;
  /** Stopped before the run finished: by --stop-after, the one stop a CLI run has. */
  stopped: boolean;
}

export interface RunFlags {
  profile: boolean;
  /** Epochs to run now at most; Infinity when --stop-after is not given. */
  stopAfter: number;
}

/** --profile and --stop-after as given. */
export function runFlags(flags: Record<string, unknown>): RunFlags {
  return { profile: flags.profile === true, stopAfter: numberFlag('stop-after', flags['stop-after'] as string | undefined, Infinity, RUN_FLAG_RANGES['stop-after']!) };
}

export async function runLoop<Step extends LoopStep, Epoch, Result, R extends CliRunner<Step, Epoch, Result>>(
  first: R, spec: LoopSpec<Step, Epoch, R>,
): Promise<LoopEnd<Result, R>> {
  const { out, lock, stepsPerEpoch, command } = spec;
  const log = new JsonLines(join(out, 'log.jsonl'));
  // The epochs logged after the checkpoint a run goes on from are run (and logged) again.
  const keepLogBefore = (epoch: number) => log.retain((r) => r.type !== 'epoch' || (typeof r.epoch === 'number' && r.epoch < epoch));
  keepLogBefore(first.epoch);
  const progress = new Progress(first.epochs * stepsPerEpoch);
  progress.log(`${command}: ${spec.what}; writing to ${out}`);
  const plan = describePlan(await first.memoryPlan());
  if (plan) progress.log(plan);
  const stepsDone = (runner: R) => runner.epoch * stepsPerEpoch + (runner.stoppedAt?.step ?? 0);
  const stopAt = first.epoch + spec.stopAfter;
  let runner = first;
  let done = stepsDone(runner);
  let saved = runner.epoch;
  const device = new DeviceReport(runner.backend, spec.profile, out, progress, log);
  try {
    const { result } = await runSurvivingDeviceLoss<Step, Epoch, R>(runner, {
      step: async (s) => {
        lock.confirm();
        done++;
        progress.update(done, { epoch: s.epoch, epochs: s.epochs, step: s.step, steps: s.steps, ...spec.metrics(s) });
        await device.step(s.step, s.steps);
      },
      epoch: (r) => {
        progress.log(spec.epochLine(r));
        log.write({ type: 'epoch', ...r });
        device.epoch();
        spec.afterEpoch?.(r, runner);
        if (runner.epoch >= stopAt) runner.requestStop();
      },
      checkpoint: (bytes, epoch) => {
        lock.confirm();
        writeCheckpoint(out, bytes);
        saved = epoch + 1;
      },
    }, {
      // What a --resume would take: the folder's newest intact checkpoint, read again.
      lastCheckpoint: () => {
        lock.confirm();
        return readCheckpoint(join(out, CHECKPOINT), (line) => progress.log(line))?.bytes ?? null;
      },
      restart: (backend, checkpoint) => runner.restart(backend, checkpoint),
      report: (loss, resumed) => {
        runner = resumed;
        keepLogBefore(resumed.epoch);
        done = stepsDone(resumed);
        device.lost(loss, resumed.backend);
      },
    });
    progress.done();
    await device.finish();
    const stopped = !runner.finished;
    if (stopped) {
      const ran = runner.epoch - first.epoch;
      progress.log(`stopped after ${ran} epoch${ran === 1 ? '' : 's'} as asked (--stop-after); continue with ${command} --resume ${out}`);
    }
    return { runner, result, stopped };
  } catch (e) {
    throw withResumeHint(withMemoryHint(e, runner.net.recomputeCells), out, saved, command);
  }
}
