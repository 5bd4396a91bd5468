// Proof that the runtime learns: a 2-layer MLP on the embedded Fashion-MNIST subset.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { accuracy, trainMlp } from '../src/train/mlp.ts';
import { loadDataset } from '../src/data/load.ts';
import { gpu } from './helpers/gpu.ts';

test('a 2-layer MLP reaches more than 80% test accuracy on the embedded data', async () => {
  const backend = await gpu();
  const train = loadDataset(undefined, 'train');
  const testSet = loadDataset(undefined, 'test');
  const model = await trainMlp(backend, train, { hidden: 128, epochs: 2, batchSize: 64, lr: 0.05, momentum: 0.9, seed: 1 });
  const acc = await accuracy(backend, (x) => model.forward(x), testSet);
  assert.ok(acc > 0.8, `test accuracy ${(acc * 100).toFixed(1)}% is not above 80%`);
});

test('100 training steps do not grow live GPU memory after the first', async () => {
  const backend = await gpu();
  const train = loadDataset(undefined, 'train');
  const live: number[] = [];
  await trainMlp(backend, { ...train, n: 6400 }, {
    hidden: 64, epochs: 1, batchSize: 64, lr: 0.05, momentum: 0.9, seed: 2,
    onStep: () => void live.push(backend.memory().liveBytes),
  });
  assert.equal(live.length, 100);
  const afterFirst = live[0]!;
  for (let i = 1; i < live.length; i++) assert.ok(live[i]! <= afterFirst, `step ${i}: ${live[i]} live bytes > ${afterFirst} after step 0`);
});
