// Runs a search or a training in its run folder, the part both share: every step confirms the
// folder's lock, every epoch goes to log.jsonl and its checkpoint to checkpoint.bin, an abort stops
// the loop after the step in progress and saves where it stands (stopAfter: after so many epochs),
// a lost GPU device is replaced and the run goes on from the folder's last checkpoint, and a
// failure to write says what is left to resume from.
import { join } from 'node:path';
import { createBackend, type Backend } from '../../runtime/index.ts';
import { runSurvivingDeviceLoss } from '../train/deviceLoss.ts';
import type { LoopObserver, LoopStep } from '../train/loop.ts';
import { describePlan, withMemoryHint, type MemoryPlan } from '../train/memory.ts';
import { CHECKPOINT, readCheckpoint, withResumeHint, writeCheckpoint } from '../cli/checkpointFiles.ts';
import { DeviceReport } from '../cli/deviceReport.ts';
import { JsonLines } from '../cli/files.ts';
import { epochsDone } from '../cli/progress.ts';
import type { RunLock } from '../cli/runLock.ts';
import { backendOptions, type BackendRequest } from './options.ts';

/** Where a step stands in the whole run, for a progress bar and an ETA. */
export interface RunProgress {
  /**
   * Epochs done since the run began, counting those before a resume, with the epoch in progress as
   * a fraction (3.5: half way through the fourth). In epochs, not steps: a search's batch grows
   * with its decisions, so its later epochs have fewer steps.
   */
  epochsDone: number;
}

/**
 * A run stopped by its AbortSignal after the step in progress, its checkpoint saved: `resume: true`
 * on `out` continues it exactly. Named AbortError, as fetch's rejection is.
 */
export class RunStoppedError extends Error {
  override name = 'AbortError';
  /**
   * `asked`: the stop was the run's own stopAfter (--stop-after), a planned end of this call rather
   * than an interruption.
   */
  constructor(readonly out: string, readonly epoch: number, readonly step: number, command: string, readonly asked = false) {
    const where = step ? `in epoch ${epoch + 1} after step ${step}` : `after epoch ${epoch}${asked ? ' as asked (stop after)' : ''}`;
    super(`stopped ${where}; its checkpoint is saved: continue with ${command} --resume ${out}`);
  }
}

/** What the caller of search() or train() hears, and how it can stop the run. */
export interface RunHooks<Step, Epoch> {
  /** After every step. */
  onStep?(step: Step & RunProgress): void | Promise<void>;
  /** After every epoch, once its checkpoint is in the run folder. */
  onEpoch?(record: Epoch): void | Promise<void>;
  /**
   * Stops the run after the step in progress: its checkpoint is saved in the run folder (resume it
   * with `resume: true`) and the call rejects with a RunStoppedError (an AbortError).
   */
  signal?: AbortSignal;
  /** Runs on this backend instead of opening the options' one. */
  backend?: Backend;
  /** What the run says as it goes (its data, memory plan, resumption, a lost device); default: nothing. */
  log?(line: string): void;
  /**
   * Runs at most this many epochs in this call, then stops as the signal does (between epochs):
   * the call rejects with a RunStoppedError whose `asked` is true.
   */
  stopAfter?: number;
  /**
   * Times every kernel (WebGPU: timestamp queries where the adapter has them): each kernel's share
   * of a step is logged at the end and written to profile.json in the run folder.
   */
  profile?: boolean;
}

export type OpenBackend = () => Promise<Backend>;

/**
 * Runs `work` with a way to open the run's backend when it is needed: the hooks' backend, or one
 * opened as the options ask and destroyed when the work ends.
 */
export async function backendFor<T>(options: BackendRequest, hooks: RunHooks<unknown, unknown>, work: (open: OpenBackend) => Promise<T>): Promise<T> {
  if (hooks.backend) {
    const given = hooks.backend;
    return work(async () => given);
  }
  let opened: Promise<Backend> | null = null;
  try {
    return await work(() => (opened ??= createBackend({ ...backendOptions(options), log: hooks.log ?? (() => {}) })));
  } finally {
    await closeBackend(opened);
  }
}

/** Destroys a backend this code opened (its device, or its worker threads), if it opened at all. */
export async function closeBackend(opened: Promise<Backend> | null): Promise<void> {
  const backend = await opened?.catch(() => null);
  (backend as { destroy?(): void } | null | undefined)?.destroy?.();
}

/** The loop of a search or a training, as far as running it in a folder goes. */
export interface RunLoop<Step extends LoopStep, Epoch extends { epoch: number }> {
  readonly backend: Backend;
  readonly epoch: number;
  readonly finished: boolean;
  readonly stoppedAt: { step: number } | null;
  readonly net: { recomputeCells: boolean };
  readonly records: readonly Epoch[];
  requestStop(): void;
  memoryPlan(): Promise<MemoryPlan>;
  checkpoint(): Promise<Uint8Array>;
  run(observer: LoopObserver<Step, Epoch>): Promise<unknown>;
  /** This run again on another backend (its device lost): from one of its checkpoints, or from the start. */
  restart(backend: Backend, checkpoint: Uint8Array | null): this;
  release(): void;
}

export interface FolderRun<Step, Epoch> {
  out: string;
  lock: RunLock;
  /** The command a resume hint names: sgas search, sgas train. */
  command: string;
  hooks: RunHooks<Step, Epoch>;
  /** After each epoch's checkpoint, before hooks.onEpoch: the run's records so far (a search's plots). */
  afterEpoch?(records: readonly Epoch[]): void;
}

/**
 * Runs `first` to its end in `run.out` and hands `finish` the loop that ran last (another than the
 * first where a lost device was replaced), releasing it afterwards. An abort, or stopAfter, saves
 * the stopped loop's checkpoint and rejects with a RunStoppedError.
 */
export async function runInFolder<Step extends LoopStep, Epoch extends { epoch: number }, L extends RunLoop<Step, Epoch>, T>(
  first: L, run: FolderRun<Step, Epoch>, finish: (last: L) => T | Promise<T>,
): Promise<T> {
  const { out, lock, hooks } = run;
  const say = hooks.log ?? (() => {});
  const log = new JsonLines(join(out, 'log.jsonl'));
  // The epochs logged after the checkpoint a run goes on from are run (and logged) again.
  const keepLogBefore = (epoch: number) => log.retain((r) => r.type !== 'epoch' || (typeof r.epoch === 'number' && r.epoch < epoch));
  keepLogBefore(first.epoch);
  let loop = first;
  const plan = describePlan(await loop.memoryPlan());
  if (plan) say(plan);
  let saved = loop.epoch;
  const stopAt = first.epoch + (hooks.stopAfter ?? Infinity);
  const signal = hooks.signal;
  const stop = () => loop.requestStop();
  const device = new DeviceReport(loop.backend, hooks.profile ?? false, out, say, log);
  try {
    signal?.throwIfAborted();
    signal?.addEventListener('abort', stop, { once: true });
    await runSurvivingDeviceLoss<Step, Epoch, L>(loop, {
      step: async (s) => {
        lock.confirm();
        // An abort that came while a lost device was replaced reaches the loop that goes on.
        if (signal?.aborted) loop.requestStop();
        // Counted from the step itself, so a resumed run's count includes the epochs before it.
        await hooks.onStep?.({ ...s, epochsDone: epochsDone(s) });
        // A step on the WebAssembly backend settles in microtasks alone: without a turn of the event
        // loop here, a signal (Ctrl-C), a parent's IPC stop and timers would wait for the run's end.
        await new Promise((resolve) => setImmediate(resolve));
        await device.step(s.step, s.steps);
      },
      epoch: (r) => {
        log.write({ type: 'epoch', ...r });
        device.epoch();
      },
      checkpoint: async (bytes, epoch) => {
        lock.confirm();
        writeCheckpoint(out, bytes);
        saved = epoch + 1;
        // Asked between epochs, the stop falls on this epoch's end.
        if (saved >= stopAt) loop.requestStop();
        run.afterEpoch?.(loop.records);
        await hooks.onEpoch?.(loop.records.at(-1)!);
      },
    }, {
      // What a resume would take: the folder's newest intact checkpoint (checkpoint.prev.bin where checkpoint.bin is damaged).
      lastCheckpoint: () => {
        lock.confirm();
        return readCheckpoint(join(out, CHECKPOINT), say)?.bytes ?? null;
      },
      restart: (backend, checkpoint) => loop.restart(backend, checkpoint),
      report: (loss, resumed) => {
        loop = resumed;
        keepLogBefore(resumed.epoch);
        device.lost(loss, resumed.backend);
      },
    });
    await device.finish();
    if (!loop.finished && (signal?.aborted || loop.epoch >= stopAt)) {
      if (loop.stoppedAt) {
        lock.confirm();
        writeCheckpoint(out, await loop.checkpoint());
      }
      throw new RunStoppedError(out, loop.epoch, loop.stoppedAt?.step ?? 0, run.command, !signal?.aborted);
    }
    return await finish(loop);
  } catch (e) {
    throw withResumeHint(withMemoryHint(e, loop.net.recomputeCells), out, saved, run.command);
  } finally {
    signal?.removeEventListener('abort', stop);
    loop.release();
  }
}
