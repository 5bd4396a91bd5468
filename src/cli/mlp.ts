// `sgas mlp`: trains the two-layer perceptron (a smoke check of the runtime on real data).
import type { Backend } from '../../runtime/index.ts';
import { loadDataset } from '../data/load.ts';
import { accuracy, trainMlp } from '../train/mlp.ts';
import { NON_NEGATIVE_INTEGER, numberFlag, numericOptions, parseFlags, POSITIVE, POSITIVE_INTEGER, type Range } from './args.ts';
import { Progress } from './progress.ts';

/** The range of every numeric flag of sgas mlp, by flag name. */
export const MLP_FLAG_RANGES: Record<string, Range> = {
  epochs: POSITIVE_INTEGER, 'batch-size': POSITIVE_INTEGER, lr: POSITIVE, hidden: POSITIVE_INTEGER, seed: NON_NEGATIVE_INTEGER,
};

export async function mlpCommand(argv: string[], backend: () => Promise<Backend>): Promise<number> {
  const { values } = parseFlags('mlp', argv, { ...numericOptions(MLP_FLAG_RANGES), data: { type: 'string' } });
  const flag = (name: string, fallback: number) => numberFlag(name, (values as Record<string, string | undefined>)[name], fallback, MLP_FLAG_RANGES[name]!);
  const options = {
    hidden: flag('hidden', 128), epochs: flag('epochs', 3), batchSize: flag('batch-size', 64), lr: flag('lr', 0.05), momentum: 0.9, seed: flag('seed', 1),
  };
  const train = loadDataset(values.data as string | undefined, 'train');
  const test = loadDataset(values.data as string | undefined, 'test');
  const steps = Math.ceil(train.n / options.batchSize);
  const progress = new Progress();
  const model = await trainMlp(await backend(), train, {
    ...options,
    onStep: async ({ epoch, step, loss }) => {
      if (step % 20 === 0 || step === steps - 1) {
        progress.update({ epoch, epochs: options.epochs, step: step + 1, steps, loss: await loss.item() });
      }
    },
  });
  progress.done();
  const acc = await accuracy(await backend(), (x) => model.forward(x), test);
  console.log(`test accuracy ${(acc * 100).toFixed(2)}% on ${test.n} images`);
  return 0;
}
