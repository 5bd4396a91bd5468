// Surviving a lost GPU device (a driver reset, a GPU taken away, the browser reclaiming it): the loss
// is reported, a new device is opened on the same adapter, and the run goes on from its last
// checkpoint, so at most the epoch that was running is computed again. A run resumed from its
// checkpoint continues exactly, so the result is the one an uninterrupted run gives on that adapter.
// Used by the search and training loops of the CLI and by the page's engine Worker.
// From their own files, not runtime/index.ts: the page's main thread imports describeLoss, and no engine code may come with it.
import type { Backend } from '../../runtime/backend.ts';
import { DeviceLostError } from '../../runtime/errors.ts';
import type { LoopObserver } from './loop.ts';

/** A search or a training run: what is needed to go on with it on another backend. */
export interface EpochRunner<Step, Epoch> {
  readonly backend: Backend;
  /** Epochs done. */
  readonly epoch: number;
  run(observer: LoopObserver<Step, Epoch>): Promise<unknown>;
  release(): void;
}

type ResultOf<R extends EpochRunner<never, never>> = Awaited<ReturnType<R['run']>>;

export interface DeviceLoss {
  /** Epochs the run had finished when its device was lost (the last one perhaps not checkpointed yet). */
  epochsDone: number;
  /** Where the run goes on: the epoch after the last checkpoint (0 without one). */
  resumedAt: number;
  message: string;
}

// A device lost again and again without an epoch finished in between is not coming back.
const MAX_LOSSES_WITHOUT_PROGRESS = 3;

/** One line for the user: what happened and where the run goes on (epochs counted from 1). */
export function describeLoss(loss: DeviceLoss): string {
  return `${loss.message} after ${loss.epochsDone} epoch${loss.epochsDone === 1 ? '' : 's'}: opened a new device, going on from ` +
    (loss.resumedAt ? `the checkpoint of epoch ${loss.resumedAt}` : 'the start');
}

export interface Recovery<R> {
  /**
   * The last intact checkpoint of the run, where it goes on from (null: from its start): the CLI
   * reads its run folder's, falling back to checkpoint.prev.bin; the page's engine keeps the bytes.
   */
  lastCheckpoint(): Uint8Array | null | Promise<Uint8Array | null>;
  /** The run again on a new backend, from a checkpoint of it (null: from its start). */
  restart(backend: Backend, checkpoint: Uint8Array | null): R | Promise<R>;
  /** Hears of each loss once the run goes on again. */
  report(loss: DeviceLoss, resumed: R): void | Promise<void>;
}

/**
 * Runs `runner` to its end through `observer`. When its device is lost, the run is made again on
 * a new backend (Backend.reopen) from its last checkpoint, and goes on. Resolves with the runner
 * that finished, and its result.
 */
export async function runSurvivingDeviceLoss<Step, Epoch, R extends EpochRunner<Step, Epoch>>(
  runner: R & EpochRunner<Step, Epoch>,
  observer: LoopObserver<Step, Epoch>,
  recovery: Recovery<R>,
): Promise<{ runner: R; result: ResultOf<R> }> {
  let losses = 0;
  const watched: LoopObserver<Step, Epoch> = {
    ...observer,
    checkpoint: async (bytes, epoch) => {
      losses = 0;
      await observer.checkpoint?.(bytes, epoch);
    },
  };
  for (;;) {
    try {
      return { runner, result: (await runner.run(watched)) as ResultOf<R> };
    } catch (error) {
      const reopen = runner.backend.reopen?.bind(runner.backend);
      if (!(error instanceof DeviceLostError) || !reopen) throw error;
      if (++losses > MAX_LOSSES_WITHOUT_PROGRESS) {
        throw new DeviceLostError(`${error.message}; lost ${losses} times without finishing an epoch, giving up (the last checkpoint is kept: resume it later)`);
      }
      const lost = runner;
      const checkpoint = await recovery.lastCheckpoint();
      runner = (await recovery.restart(await reopen(), checkpoint)) as R & EpochRunner<Step, Epoch>;
      // Released once its replacement stands, so a failure to replace it leaves the caller one run to release.
      lost.release();
      await recovery.report({ epochsDone: lost.epoch, resumedAt: runner.epoch, message: error.message }, runner);
    }
  }
}
