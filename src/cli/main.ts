// The `sgas` command line: one subcommand per job; every failure is one line naming the cause.
import { createBackend, type Backend } from '../../runtime/index.ts';
import { adaptersCommand } from './adapters.ts';
import { backendFlag, UsageError, type DeviceFlags } from './args.ts';
import { doctorCommand } from './doctor.ts';
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
import { runFilteringNativeNoise } from './nativeNoise.ts';
import { exitWhenWritten, toleratePipesClosed } from './processOutput.ts';

/** Commands get the backend lazily, so bad flags and bad data fail before any GPU work; the device flags as given. */
type Command = (argv: string[], backend: () => Promise<Backend>, device: DeviceFlags) => Promise<number>;

/** gpu: false for a command that never opens a WebGPU adapter. */
const COMMANDS: Record<string, { run: Command; help: string; gpu?: false }> = {
  search: { run: searchCommand, help: 'run an SGAS search (default: cpu preset on the embedded Fashion-MNIST)' },
  train: { run: trainCommand, help: 'train a genotype from scratch: sgas train --genotype FILE|NAME|LITERAL' },
  eval: { run: evalCommand, help: 'test accuracy of a trained checkpoint: sgas eval --checkpoint FILE' },
  predict: { run: predictCommand, help: 'top classes of images from a trained checkpoint: sgas predict --checkpoint FILE IMAGE|DIR...' },
  export: { run: exportCommand, help: 'a trained network as ONNX or one .sgas file: sgas export --checkpoint FILE --format onnx|sgas' },
  info: { run: infoCommand, help: 'parameter counts of a genotype (no GPU): sgas info --genotype FILE|NAME|LITERAL', gpu: false },
  golden: { run: async (argv, backend) => goldenCommand(await backend(), argv), help: 'check kernels against golden vectors: sgas golden DIR' },
  sweep: { run: sweepCommand, help: 'searches over seeds and criteria, their cells trained beside random ones, a leaderboard: sgas sweep --seeds N --out DIR' },
  worker: { run: workerCommand, help: 'run sweep jobs from a queue: sgas worker --redis redis://HOST:PORT' },
  serve: { run: (argv) => serveCommand(argv), help: 'serve the search page on http://127.0.0.1:8080: sgas serve [--port N] [--host H] [--redis URL]', gpu: false },
  mlp: { run: mlpCommand, help: 'train a 2-layer perceptron (runtime smoke check)' },
  adapters: { run: (argv) => adaptersCommand(argv), help: 'list the WebGPU adapters --adapter INDEX|TEXT picks from: sgas adapters [--json]' },
  doctor: { run: (argv, _backend, device) => doctorCommand(argv, device), help: 'check every adapter (golden cases, the tiny search, op timings): sgas doctor [--json]' },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(8)} ${c.help}`);
  return `usage: sgas <command> [flags] [--backend auto|webgpu|wasm] [--adapter INDEX|TEXT] [--kernels auto|tune|plain|tiled] [--threads N]\n\ncommands:\n${lines.join('\n')}\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) throw new UsageError(`unknown command '${name}' (commands: ${Object.keys(COMMANDS).join(', ')})`);
  const device = backendFlag(rest);
  const { choice, adapter, kernels = 'auto', threads, argv: commandArgv } = device;
  let backend: Promise<Backend> | null = null;
  const log = (line: string) => process.stderr.write(line + '\n');
  return command.run(commandArgv, () => (backend ??= createBackend({ backend: choice, adapter, kernels, threads, log })), device);
}

// A command that may open a WebGPU adapter runs behind the filter of Dawn's and Mesa's native warnings;
// a process forked with an IPC channel (a local sweep's worker) writes to its parent's filtered stderr.
const commandName = process.argv[2] ?? '';
const opensGpu = Object.hasOwn(COMMANDS, commandName) && COMMANDS[commandName]!.gpu !== false;
if (!opensGpu || process.send || !runFilteringNativeNoise()) {
  toleratePipesClosed();
  main(process.argv.slice(2)).then(
    (code) => exitWhenWritten(code),
    (error: Error) => {
      process.stderr.write(`sgas: ${error.message}\n`);
      return exitWhenWritten(error instanceof UsageError || error.name === 'GoldenFileError' ? 2 : 1);
    },
  );
}
