// A two-layer perceptron on flattened images: the runtime's proof that it learns.
import { crossEntropy, linear, relu, Sgd, Tape, Tensor, type Backend } from '../../runtime/index.ts';
import { kaimingUniform } from '../../runtime/init.ts';
import { Rng } from '../../runtime/rng.ts';
import { batchesOf, gatherBatch } from '../data/batches.ts';
import type { Dataset } from '../data/dataset.ts';
import { countCorrect } from './loop.ts';

export interface MlpOptions {
  hidden: number;
  epochs: number;
  batchSize: number;
  lr: number;
  momentum: number;
  seed: number;
  onStep?: (info: { epoch: number; step: number; steps: number; loss: Tensor }) => void | Promise<void>;
}

export class Mlp {
  readonly params: Tensor[];

  constructor(backend: Backend, inputs: number, hidden: number, classes: number, rng: Rng) {
    const layer = (fanIn: number, fanOut: number, name: string) => [
      Tensor.parameter(backend, kaimingUniform(rng, fanOut * fanIn, fanIn), [fanOut, fanIn], `${name}.weight`),
      Tensor.parameter(backend, kaimingUniform(rng, fanOut, fanIn), [fanOut], `${name}.bias`),
    ];
    this.params = [...layer(inputs, hidden, 'fc1'), ...layer(hidden, classes, 'fc2')];
  }

  forward(x: Tensor): Tensor {
    const [w1, b1, w2, b2] = this.params as [Tensor, Tensor, Tensor, Tensor];
    return linear(relu(linear(x.reshape([x.shape[0]!, w1.shape[1]!]), w1, b1)), w2, b2);
  }
}

export async function trainMlp(backend: Backend, train: Dataset, options: MlpOptions): Promise<Mlp> {
  const rng = new Rng(options.seed);
  const features = train.channels * train.height * train.width;
  const model = new Mlp(backend, features, options.hidden, train.classes.length, rng);
  const sgd = new Sgd(model.params, { lr: options.lr, momentum: options.momentum });
  const steps = Math.ceil(train.n / options.batchSize);
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    let step = 0;
    for (const indices of batchesOf(rng.permutation(train.n), options.batchSize)) {
      const tape = new Tape();
      const loss = tape.run(() => {
        const batch = gatherBatch(train, indices);
        const x = Tensor.from(backend, batch.images, batch.shape);
        return crossEntropy(model.forward(x), Tensor.from(backend, batch.labels, [indices.length]));
      });
      sgd.zeroGrad();
      tape.backward(loss);
      sgd.step();
      await options.onStep?.({ epoch, step: step++, steps, loss });
      tape.dispose();
    }
  }
  return model;
}

/** Fraction of `data` classified correctly, evaluated in batches without recording gradients. */
export async function accuracy(backend: Backend, forward: (x: Tensor) => Tensor, data: Dataset, batchSize = 1000): Promise<number> {
  let correct = 0;
  const order = Array.from({ length: data.n }, (_, i) => i);
  for (const indices of batchesOf(order, batchSize)) {
    const tape = new Tape();
    const logits = tape.run(() =>
      Tape.noGrad(() => {
        const batch = gatherBatch(data, indices);
        return forward(Tensor.from(backend, batch.images, batch.shape));
      }),
    );
    correct += countCorrect(await logits.read(), indices.map((sample) => data.labels[sample]!));
    tape.dispose();
  }
  return correct / data.n;
}
