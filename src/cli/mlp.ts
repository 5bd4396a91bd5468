// `sgas mlp`: trains the two-layer perceptron (a smoke check of the runtime on real data).
import type { Backend } from '../../runtime/index.ts';
import { loadDataset } from '../data/load.ts';
import { accuracy, trainMlp } from '../train/mlp.ts';
import { numberFlag, parseFlags } from './args.ts';
import { Progress } from './progress.ts';

export async function mlpCommand(backend: Backend, argv: string[]): Promise<number> {
  const { values } = parseFlags('mlp', argv, {
    data: { type: 'string' },
    epochs: { type: 'string' },
    'batch-size': { type: 'string' },
    lr: { type: 'string' },
    hidden: { type: 'string' },
    seed: { type: 'string' },
  });
  const train = loadDataset(values.data, 'train');
  const test = loadDataset(values.data, 'test');
  const options = {
    hidden: numberFlag('hidden', values.hidden, 128, { min: 1, integer: true }),
    epochs: numberFlag('epochs', values.epochs, 3, { min: 1, integer: true }),
    batchSize: numberFlag('batch-size', values['batch-size'], 64, { min: 1, integer: true }),
    lr: numberFlag('lr', values.lr, 0.05, { min: 0 }),
    momentum: 0.9,
    seed: numberFlag('seed', values.seed, 1, { integer: true }),
  };
  const steps = Math.ceil(train.n / options.batchSize);
  const progress = new Progress(options.epochs * steps);
  const model = await trainMlp(backend, train, {
    ...options,
    onStep: async ({ epoch, step, loss }) => {
      if (step % 20 === 0 || step === steps - 1) {
        progress.update(epoch * steps + step + 1, { epoch, epochs: options.epochs, step: step + 1, steps, loss: await loss.item() });
      }
    },
  });
  progress.done();
  const acc = await accuracy(backend, (x) => model.forward(x), test);
  console.log(`test accuracy ${(acc * 100).toFixed(2)}% on ${test.n} images`);
  return 0;
}
