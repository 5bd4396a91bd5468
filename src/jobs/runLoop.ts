// Runs a search or a training in its run folder, the part both share: every step confirms the
// folder's lock, every epoch goes to log.jsonl and its checkpoint to checkpoint.bin, an abort stops
// the loop after the step in progress and saves where it stands, and a failure to write says what
// is left to resume from.
import { join } from 'node:path';
import { createBackend, type Backend } from '../../runtime/index.ts';
import type { LoopObserver, LoopStep } from '../train/loop.ts';
import { describePlan, withMemoryHint, type MemoryPlan } from '../train/memory.ts';
import { withResumeHint, writeCheckpoint } from '../cli/checkpointFiles.ts';
import { JsonLines } from '../cli/files.ts';
import type { RunLock } from '../cli/runLock.ts';

/** Where a step stands in the whole run, for a progress bar and an ETA. */
export interface RunProgress {
  /** Steps done since the run began (counting those before a resume). */
  stepsDone: number;
  /** Steps in the whole run, as far as is known now (a search's batch grows with its decisions). */
  stepsTotal: number;
}

/**
 * A run stopped by its AbortSignal after the step in progress, its checkpoint saved: `resume: true`
 * on `out` continues it exactly. Named AbortError, as fetch's rejection is.
 */
export class RunStoppedError extends Error {
  override name = 'AbortError';
  constructor(readonly out: string, readonly epoch: number, readonly step: number, command: string) {
    super(`stopped ${step ? `in epoch ${epoch + 1} after step ${step}` : `after epoch ${epoch}`}; its checkpoint is saved: continue with ${command} --resume ${out}`);
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
  /** What the run says as it goes (its data, memory plan, resumption); default: nothing. */
  log?(line: string): void;
}

export type OpenBackend = () => Promise<Backend>;

/**
 * Runs `work` with a way to open the run's backend when it is needed: the hooks' backend, or one
 * opened as the options ask and destroyed when the work ends.
 */
export async function backendFor<T>(options: { backend?: 'auto' | 'webgpu' | 'wasm' }, hooks: RunHooks<unknown, unknown>, work: (open: OpenBackend) => Promise<T>): Promise<T> {
  if (hooks.backend) {
    const given = hooks.backend;
    return work(async () => given);
  }
  let opened: Promise<Backend> | null = null;
  try {
    return await work(() => (opened ??= createBackend({ backend: options.backend ?? 'auto', log: hooks.log ?? (() => {}) })));
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
  readonly epoch: number;
  readonly finished: boolean;
  readonly stoppedAt: { step: number } | null;
  readonly net: { recomputeCells: boolean };
  readonly records: readonly Epoch[];
  requestStop(): void;
  memoryPlan(): Promise<MemoryPlan>;
  checkpoint(): Promise<Uint8Array>;
  run(observer: LoopObserver<Step, Epoch>): Promise<unknown>;
}

export interface FolderRun<Step, Epoch> {
  out: string;
  lock: RunLock;
  /** The command a resume hint names: sgas search, sgas train. */
  command: string;
  hooks: RunHooks<Step, Epoch>;
}

/** Runs `loop` to its end in `run.out`; an abort saves the stopped loop's checkpoint and rejects with a RunStoppedError. */
export async function runInFolder<Step extends LoopStep, Epoch extends { epoch: number }>(
  loop: RunLoop<Step, Epoch>, run: FolderRun<Step, Epoch>,
): Promise<void> {
  const { out, lock, hooks } = run;
  const log = new JsonLines(join(out, 'log.jsonl'));
  log.retain((r) => typeof r.epoch === 'number' && r.epoch < loop.epoch);
  const plan = describePlan(await loop.memoryPlan());
  if (plan) hooks.log?.(plan);
  let saved = loop.epoch;
  let stepsDone = 0;
  const signal = hooks.signal;
  const stop = () => loop.requestStop();
  signal?.throwIfAborted();
  signal?.addEventListener('abort', stop, { once: true });
  try {
    await loop.run({
      step: async (s) => {
        lock.confirm();
        // Counted from the step itself, so a resumed run's count includes the steps before it.
        stepsDone = s.epoch * s.steps + s.step;
        await hooks.onStep?.({ ...s, stepsDone, stepsTotal: s.epochs * s.steps });
        // A step on the WebAssembly backend settles in microtasks alone: without a turn of the event
        // loop here, a signal (Ctrl-C), a parent's IPC stop and timers would wait for the run's end.
        await new Promise((resolve) => setImmediate(resolve));
      },
      epoch: (r) => log.write({ type: 'epoch', ...r }),
      checkpoint: async (bytes, epoch) => {
        lock.confirm();
        writeCheckpoint(out, bytes);
        saved = epoch + 1;
        await hooks.onEpoch?.(loop.records.at(-1)!);
      },
    });
    if (!loop.finished && signal?.aborted) {
      if (loop.stoppedAt) {
        lock.confirm();
        writeCheckpoint(out, await loop.checkpoint());
      }
      throw new RunStoppedError(out, loop.epoch, loop.stoppedAt?.step ?? 0, run.command);
    }
  } catch (e) {
    throw withResumeHint(withMemoryHint(e, loop.net.recomputeCells), out, saved, run.command);
  } finally {
    signal?.removeEventListener('abort', stop);
  }
}
