// The Architect: the second-order (unrolled) step reduces to the first-order one when the
// virtual SGD step is empty (η = 0), differs from it otherwise, and leaves the weights as they were.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Sgd, Tensor } from '../runtime/index.ts';
import { Rng } from '../runtime/rng.ts';
import { Architect } from '../src/search/architect.ts';
import { presetConfig } from '../src/search/config.ts';
import { Network } from '../src/search/model.ts';
import { assertClose, gpu } from './helpers/gpu.ts';

async function setup(unrolled: boolean) {
  const backend = await gpu();
  const config = { ...presetConfig('tiny'), unrolled, archLearningRate: 0.01 };
  const net = new Network(backend, { C: 2, layers: 3, classes: 10, inputChannels: 1, stemMultiplier: 3 }, new Rng(11));
  const sgd = new Sgd(net.parameters(), { lr: 0.1, momentum: 0.9, weightDecay: 3e-4 });
  const architect = new Architect(net, config);
  const data = new Rng(12);
  const batch = () => ({
    x: Tensor.from(backend, Float32Array.from({ length: 4 * 8 * 8 }, () => data.normal()), [4, 1, 8, 8]),
    y: Tensor.from(backend, [1, 7, 3, 3], [4]),
  });
  return { net, sgd, architect, valid: batch(), train: batch() };
}

async function alphas(net: Network): Promise<number[]> {
  const out: number[] = [];
  for (const a of net.alphaParameters()) out.push(...(await a.read()));
  return out;
}

async function weights(net: Network): Promise<number[]> {
  const out: number[] = [];
  for (const p of net.parameters()) out.push(...(await p.read()));
  return out;
}

test('unrolled Architect with η = 0 equals the first-order step; with η > 0 it differs and restores the weights', async () => {
  const first = await setup(false);
  await first.architect.step(first.valid, first.train, 0.05, first.sgd);
  const firstOrder = await alphas(first.net);

  const zero = await setup(true);
  const before = await alphas(zero.net);
  await zero.architect.step(zero.valid, zero.train, 0, zero.sgd);
  assertClose(await alphas(zero.net), firstOrder, 'unrolled alphas at η = 0', 1e-7, 1e-5);
  assert.ok(firstOrder.some((v, i) => v !== before[i]), 'the step moved the alphas');

  const second = await setup(true);
  const weightsBefore = await weights(second.net);
  await second.architect.step(second.valid, second.train, 0.05, second.sgd);
  const secondOrder = await alphas(second.net);
  assert.ok(secondOrder.every(Number.isFinite));
  assert.ok(secondOrder.some((v, i) => Math.abs(v - firstOrder[i]!) > 1e-7), 'the Hessian term changes the step');
  assert.deepEqual(await weights(second.net), weightsBefore, 'weights are restored bit for bit');
  for (const s of [first, zero, second]) {
    s.sgd.release();
    s.architect.adam.release();
    s.net.release();
  }
});
