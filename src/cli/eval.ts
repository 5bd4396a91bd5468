// `sgas eval`: the test accuracy and loss of a trained network from its checkpoint (eval mode,
// running BN statistics), on the test split of the data the run used or of --data.
import { dirname } from 'node:path';
import type { Backend } from '../../runtime/index.ts';
import { loadDataset } from '../data/load.ts';
import { firstImages } from '../data/transforms.ts';
import { evaluate, networkFromCheckpoint } from '../eval/train.ts';
import { NON_NEGATIVE_INTEGER, numberFlag, numericOptions, parseFlags, UsageError, type Range } from './args.ts';
import { readCheckpoint } from './checkpointFiles.ts';
import { runDataDir } from './train.ts';

export const EVAL_HELP = `usage: sgas eval --checkpoint FILE [--data DIR] [--max-images N] [--backend auto|webgpu|wasm]

Evaluates the checkpoint (a checkpoint.bin written by sgas train) on the test split of --data, by
default the data of its run (run.json beside it) or the embedded Fashion-MNIST; --max-images N
evaluates the first N test images only.
`;

/** The range of every numeric flag of sgas eval, by flag name. */
export const EVAL_FLAG_RANGES = { 'max-images': NON_NEGATIVE_INTEGER } satisfies Record<string, Range>;

export async function evalCommand(argv: string[], backend: () => Promise<Backend>): Promise<number> {
  const { values } = parseFlags('eval', argv, {
    ...numericOptions(EVAL_FLAG_RANGES), checkpoint: { type: 'string' }, data: { type: 'string' }, help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(EVAL_HELP);
    return 0;
  }
  const path = values.checkpoint;
  if (!path) throw new UsageError('eval: --checkpoint FILE is required (the checkpoint.bin of an sgas train run)');
  const maxImages = numberFlag('max-images', values['max-images'], 0, EVAL_FLAG_RANGES['max-images']);
  const checkpoint = readCheckpoint(path, (line) => process.stderr.write(line + '\n'));
  if (!checkpoint) throw new UsageError(`--checkpoint ${path}: no such file`);
  const test = firstImages(loadDataset(values.data ?? runDataDir(dirname(path)), 'test'), maxImages);
  const { net, images, config, epochs } = networkFromCheckpoint(await backend(), checkpoint.bytes, test, checkpoint.path);
  try {
    const started = performance.now();
    const { loss, accuracy } = await evaluate(net, images, config.batchSize);
    process.stdout.write(
      `test accuracy: ${(100 * accuracy).toFixed(2)}% (${Math.round(accuracy * test.n)}/${test.n} ${test.name} images, after ${epochs} epochs)\n` +
      `test loss: ${loss.toFixed(4)}\n`,
    );
    process.stderr.write(`evaluated in ${((performance.now() - started) / 1000).toFixed(1)}s\n`);
    return 0;
  } finally {
    net.release();
  }
}
