// The `sgas` command line: one subcommand per job; every failure is one line naming the cause.
import { createBackend, type Backend } from '../../runtime/index.ts';
import { UsageError } from './args.ts';
import { goldenCommand } from './golden.ts';
import { mlpCommand } from './mlp.ts';

type Command = (backend: Backend, argv: string[]) => Promise<number>;

const COMMANDS: Record<string, { run: Command; help: string }> = {
  mlp: { run: mlpCommand, help: 'train a 2-layer perceptron (runtime smoke check)' },
  golden: { run: goldenCommand, help: 'check kernels against golden vectors: sgas golden DIR' },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(8)} ${c.help}`);
  return `usage: sgas <command> [flags]\n\ncommands:\n${lines.join('\n')}\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) throw new UsageError(`unknown command '${name}' (commands: ${Object.keys(COMMANDS).join(', ')})`);
  const backend = await createBackend({ log: (line) => process.stderr.write(line + '\n') });
  return command.run(backend, rest);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`sgas: ${error.message}\n`);
    process.exit(error instanceof UsageError || error.name === 'GoldenFileError' ? 2 : 1);
  },
);
