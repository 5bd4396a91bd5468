// What `sgas search` and `sgas train` add to the library's run: a progress bar and epoch lines on
// stderr, and Ctrl-C, which stops the run after the step in progress with its checkpoint saved
// (a second Ctrl-C ends the process at once).
import { RunStoppedError, type RunHooks, type RunProgress } from '../jobs/runLoop.ts';
import type { LoopStep } from '../train/loop.ts';
import { Progress } from './progress.ts';

export interface CommandHooks<Epoch> extends RunHooks<LoopStep, Epoch> {
  signal: AbortSignal;
  log(line: string): void;
  /** Ends the progress bar's line and lets Ctrl-C end the process again. */
  done(): void;
}

export function commandHooks<Epoch>(command: string, epochLine: (record: Epoch) => string): CommandHooks<Epoch> {
  let progress: Progress | null = null;
  const log = (line: string) => (progress ? progress.log(line) : process.stderr.write(line + '\n'));
  const controller = new AbortController();
  const interrupted = () => {
    log(`${command}: stopping after the step in progress (Ctrl-C again ends it at once)`);
    controller.abort();
    process.once('SIGINT', () => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  return {
    signal: controller.signal,
    log,
    onStep(s: LoopStep & RunProgress & Record<string, unknown>) {
      progress ??= new Progress();
      const { epoch, epochs, step, steps, loss, accuracy, lr, batchSize } = s;
      progress.update({ epoch, epochs, step, steps, loss, acc: accuracy, lr, ...(typeof batchSize === 'number' && { batch: batchSize }) });
    },
    onEpoch(record) {
      log(epochLine(record));
    },
    done() {
      progress?.done();
      process.removeListener('SIGINT', interrupted);
    },
  };
}

/** What a finished run prints: its result on stdout, then a note on stderr (where it was written). */
export interface CommandOutput {
  stdout: string;
  stderr?: string;
}

/**
 * Runs a search or a training with these hooks and prints what `run` returns, once the progress
 * bar's line has ended; a stop by Ctrl-C exits 130, saying how to continue, and a stop asked for
 * (--stop-after) says the same and exits 0.
 */
export async function runCommand<Epoch>(command: string, epochLine: (record: Epoch) => string, run: (hooks: CommandHooks<Epoch>) => Promise<CommandOutput>): Promise<number> {
  const hooks = commandHooks(command, epochLine);
  try {
    const printed = await run(hooks);
    hooks.done();
    process.stdout.write(printed.stdout);
    if (printed.stderr) process.stderr.write(printed.stderr);
    return 0;
  } catch (e) {
    hooks.done();
    if (!(e instanceof RunStoppedError)) throw e;
    process.stderr.write(`${command}: ${e.message}\n`);
    return e.asked ? 0 : 130;
  }
}
