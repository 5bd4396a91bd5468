// `sgas eval`: the test accuracy and loss of a trained network from its checkpoint (eval mode,
// running BN statistics), on the test split of the data the run used or of --data, split, sized
// and normalised as the checkpoint records.
import { dirname, join } from 'node:path';
import type { Backend } from '../../runtime/index.ts';
import { dataForNetwork, evaluate, networkFromCheckpoint, readTrainCheckpoint, type TrainCheckpoint } from '../eval/train.ts';
import { NON_NEGATIVE_INTEGER, numberFlag, numericOptions, parseFlags, UsageError, type Range } from './args.ts';
import { readCheckpoint } from './checkpointFiles.ts';
import { dataFlags, loadRunData } from './dataFlags.ts';
import { readRunFile, runDataDir } from '../jobs/runFile.ts';

export const EVAL_HELP = `usage: sgas eval --checkpoint FILE [--data DIR] [--max-images N] [--json] [--backend auto|webgpu|wasm]

Evaluates the checkpoint (a checkpoint.bin written by sgas train) on the test split of --data, by
default the data of its run (run.json beside it) or the embedded Fashion-MNIST; --max-images N
evaluates the first N test images only. An image folder is split, resized and normalised as the
run's checkpoint records, and its classes must be the checkpoint's.
--json prints one line per test image, {"file", "label", "logits"} (file: null for IDX and
CIFAR-10), then {"accuracy", "loss", "images"}.
`;

/** The range of every numeric flag of sgas eval, by flag name. */
export const EVAL_FLAG_RANGES = { 'max-images': NON_NEGATIVE_INTEGER } satisfies Record<string, Range>;

/**
 * --checkpoint FILE of eval and predict: a training checkpoint, every byte checked, falling back
 * to checkpoint.prev.bin beside it (saying so) when it is damaged.
 */
export function checkpointFlag(command: string, path: string | undefined): { path: string; checkpoint: TrainCheckpoint } {
  if (!path) throw new UsageError(`${command}: --checkpoint FILE is required (the checkpoint.bin of an sgas train run)`);
  const loaded = readCheckpoint(path, (line) => process.stderr.write(line + '\n'));
  if (!loaded) throw new UsageError(`--checkpoint ${path}: no such file`);
  return { path: loaded.path, checkpoint: readTrainCheckpoint(loaded.bytes, loaded.path) };
}

export async function evalCommand(argv: string[], backend: () => Promise<Backend>): Promise<number> {
  const { values } = parseFlags('eval', argv, {
    ...numericOptions(EVAL_FLAG_RANGES), checkpoint: { type: 'string' }, data: { type: 'string' },
    json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(EVAL_HELP);
    return 0;
  }
  const maxImages = numberFlag('max-images', values['max-images'], 0, EVAL_FLAG_RANGES['max-images']);
  const { path, checkpoint } = checkpointFlag('eval', values.checkpoint);
  const loaded = await loadRunData(dataFlags({ data: values.data ?? runDataDir(readRunFile(dirname(path))) }), { parts: { test: maxImages }, like: checkpoint.state.dataInfo });
  const trained = networkFromCheckpoint(await backend(), checkpoint, path);
  const { net, dataInfo, config, epochs } = trained;
  try {
    const test = dataForNetwork(trained, loaded.test!, path);
    const started = performance.now();
    const classes = dataInfo.classes.length;
    const printLogits = (start: number, logits: Float32Array) => {
      for (let i = 0; i < logits.length / classes; i++) {
        const index = start + i;
        const file = test.files ? join(loaded.source, test.files[index]!) : null;
        const row = Array.from(logits.subarray(i * classes, (i + 1) * classes));
        process.stdout.write(JSON.stringify({ file, label: dataInfo.classes[test.labels[index]!], logits: row }) + '\n');
      }
    };
    const { loss, accuracy } = await evaluate(net, test, config.batchSize, values.json ? printLogits : undefined);
    process.stdout.write(values.json
      ? JSON.stringify({ accuracy, loss, images: test.n }) + '\n'
      : `test accuracy: ${(100 * accuracy).toFixed(2)}% (${Math.round(accuracy * test.n)}/${test.n} ${test.name} images, after ${epochs} epochs)\n` +
        `test loss: ${loss.toFixed(4)}\n`);
    process.stderr.write(`evaluated in ${((performance.now() - started) / 1000).toFixed(1)}s\n`);
    return 0;
  } finally {
    net.release();
  }
}
