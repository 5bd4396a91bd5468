// The `sgas` command line: one subcommand per job; every failure is one line naming the cause.
import { createBackend, type Backend } from '../../runtime/index.ts';
import { backendFlag, UsageError, type BackendChoice } from './args.ts';
import { evalCommand } from './eval.ts';
import { exportCommand } from './export.ts';
import { goldenCommand } from './golden.ts';
import { infoCommand } from './info.ts';
import { mlpCommand } from './mlp.ts';
import { predictCommand } from './predict.ts';
import { searchCommand } from './search.ts';
import { trainCommand } from './train.ts';
import { serveCommand } from './serve.ts';
import { sweepCommand } from './sweep.ts';
import { workerCommand } from './worker.ts';

/** Commands get the backend lazily, so bad flags and bad data fail before any GPU work; `choice` is --backend as given. */
type Command = (argv: string[], backend: () => Promise<Backend>, choice: BackendChoice) => Promise<number>;

const COMMANDS: Record<string, { run: Command; help: string }> = {
  search: { run: searchCommand, help: 'run an SGAS search (default: cpu preset on the embedded Fashion-MNIST)' },
  train: { run: trainCommand, help: 'train a genotype from scratch: sgas train --genotype FILE|NAME|LITERAL' },
  eval: { run: evalCommand, help: 'test accuracy of a trained checkpoint: sgas eval --checkpoint FILE' },
  predict: { run: predictCommand, help: 'top classes of images from a trained checkpoint: sgas predict --checkpoint FILE IMAGE|DIR...' },
  export: { run: exportCommand, help: 'a trained network as ONNX or one .sgas file: sgas export --checkpoint FILE --format onnx|sgas' },
  info: { run: infoCommand, help: 'parameter counts of a genotype (no GPU): sgas info --genotype FILE|NAME|LITERAL' },
  golden: { run: async (argv, backend) => goldenCommand(await backend(), argv), help: 'check kernels against golden vectors: sgas golden DIR' },
  sweep: { run: sweepCommand, help: 'searches over seeds and criteria, their cells trained beside random ones, a leaderboard: sgas sweep --seeds N --out DIR' },
  worker: { run: workerCommand, help: 'run sweep jobs from a queue: sgas worker --redis redis://HOST:PORT' },
  serve: { run: (argv) => serveCommand(argv), help: 'serve the search page on http://127.0.0.1:8080: sgas serve [--port N] [--host H] [--redis URL]' },
  mlp: { run: mlpCommand, help: 'train a 2-layer perceptron (runtime smoke check)' },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(8)} ${c.help}`);
  return `usage: sgas <command> [flags] [--backend auto|webgpu|wasm]\n\ncommands:\n${lines.join('\n')}\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) throw new UsageError(`unknown command '${name}' (commands: ${Object.keys(COMMANDS).join(', ')})`);
  const { choice, argv: commandArgv } = backendFlag(rest);
  let backend: Promise<Backend> | null = null;
  const log = (line: string) => process.stderr.write(line + '\n');
  return command.run(commandArgv, () => (backend ??= createBackend({ backend: choice, log })), choice);
}

/**
 * Ends the process once stdout and stderr have taken everything written to them. A pipe takes
 * what fits in its buffer and Node queues the rest, and process.exit() drops that queue: a reader
 * slower than the writer lost the closing lines. Exiting explicitly (not by letting the event loop
 * run dry) still matters, because Dawn's instance can keep the loop alive.
 */
async function exitWhenWritten(code: number): Promise<never> {
  process.exitCode = code;
  const written = (stream: NodeJS.WriteStream) => new Promise<void>((resolve) => stream.write('', () => resolve()));
  await Promise.all([written(process.stdout), written(process.stderr)]);
  process.exit(code);
}

// A reader that went away (`sgas golden DIR | head`) is not a failure of the command: what it would
// have printed goes nowhere, as a closed pipe asks, and the work and its files still complete.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
  });
}

main(process.argv.slice(2)).then(
  (code) => exitWhenWritten(code),
  (error: Error) => {
    process.stderr.write(`sgas: ${error.message}\n`);
    return exitWhenWritten(error instanceof UsageError || error.name === 'GoldenFileError' ? 2 : 1);
  },
);
