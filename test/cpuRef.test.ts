// The float64 CPU reference (test/ref/) against the PyTorch float32 golden vectors: every forward
// case, and numericalVjp (central differences of those forwards) against every golden gradient.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import {
  type OpName, avgPool, batchNorm, conv2d, crossEntropy, factorizedReduce, globalAvgPool, linear, mixedOp,
  mixedOpWeighted, numericalVjp, primitive, reluConvBn, softmax, splitOpWeights,
} from './ref/ops64.ts';
import { type GoldenTensor, type T64, fromGolden, maxAbs, maxAbsDiff, mulberry32, random, worstRatio } from './ref/tensor64.ts';

type Case = {
  name: string; op: string; stride: number; pool_followed_by_bn?: boolean; padding?: number; targets?: number[];
  inputs: Record<string, GoldenTensor>; weights: Record<string, GoldenTensor>; upstream: GoldenTensor;
  outputs: Record<string, GoldenTensor>; grads: Record<string, GoldenTensor>;
};
type Named = Record<string, T64>;

const load = (file: string): Case[] => JSON.parse(readFileSync(new URL(`./golden/${file}`, import.meta.url), 'utf8')).cases;

const BLOCKS: Record<string, (v: Named, c: Case) => T64> = {
  relu_conv_bn: (v, c) => reluConvBn(v.x, v.conv, { stride: c.stride, pad: c.padding }),
  factorized_reduce: (v) => factorizedReduce(v.x, v.conv1, v.conv2),
  batchnorm: (v) => batchNorm(v.x),
  stem: (v) => batchNorm(conv2d(v.x, v.conv, { pad: 1 }), v.gamma, v.beta),
  global_avg_pool: (v) => globalAvgPool(v.x),
  linear: (v) => linear(v.x, v.weight, v.bias),
  softmax: (v) => softmax(v.alphas),
  cross_entropy: (v, c) => crossEntropy(v.logits, c.targets!),
};

const weightsOnly = (v: Named): Named => Object.fromEntries(Object.entries(v).filter(([k]) => k !== 'x' && k !== 'alphas'));

const FORWARD: Record<string, (v: Named, c: Case) => T64> = {
  primitives: (v, c) => primitive(c.op as OpName, v.x, weightsOnly(v), c.stride, c.pool_followed_by_bn),
  blocks: (v, c) => BLOCKS[c.op](v, c),
  mixedop: (v, c) => mixedOp(v.x, v.alphas, splitOpWeights(weightsOnly(v)), c.stride),
};

/** A golden case as f(inputs then weights, in file order): the function numericalVjp differentiates. */
function asFunction(kind: string, c: Case) {
  const names = [...Object.keys(c.inputs), ...Object.keys(c.weights)];
  const inputs = names.map((n) => fromGolden(c.inputs[n] ?? c.weights[n]));
  const f = (ts: T64[]) => FORWARD[kind](Object.fromEntries(names.map((n, i) => [n, ts[i]])), c);
  return { names, inputs, f };
}

/**
 * The README's single-op tolerance |a − b| ≤ 1e-5 + 1e-4·|b| per element, plus max|a − b| ≤ 1e-5·max|b|
 * so that tensors of small magnitude are not waved through by the absolute term.
 */
function assertClose(a: T64, ref: T64, what: string) {
  const r = worstRatio(a, ref, 1e-5, 1e-4), d = maxAbsDiff(a, ref), m = maxAbs(ref);
  assert.ok(r <= 1, `${what}: worst element ${r.toFixed(3)}× the tolerance`);
  assert.ok(d <= 1e-5 * m, `${what}: max|diff| ${d.toExponential(2)} vs max|ref| ${m.toExponential(2)}`);
}

const FILES: [kind: string, file: string][] = [
  ['primitives', 'primitives_stride1.json'], ['primitives', 'primitives_stride2.json'],
  ['blocks', 'blocks.json'], ['mixedop', 'mixedop.json'],
];

describe('float64 forwards reproduce the golden outputs', () => {
  for (const [kind, file] of FILES) for (const c of load(file)) test(`${file}: ${c.name}`, () => {
    const { inputs, f } = asFunction(kind, c);
    assertClose(f(inputs), fromGolden(c.outputs.y ?? c.outputs.loss), c.name);
    if (c.outputs.softmax_weights) assertClose(softmax(fromGolden(c.inputs.alphas)), fromGolden(c.outputs.softmax_weights), 'softmax_weights');
  });
});

// Every element of every gradient (~2 s in all). The golden grads come from float32 autograd, yet even
// through BN (whose input gradient is a difference of near-equal terms) they agree with float64
// central differences to ≤ 1.1e-6·max|g|, so no case needs a looser tolerance.
describe('numericalVjp reproduces the golden grads', () => {
  for (const [kind, file] of FILES) for (const c of load(file)) test(`${file}: ${c.name}`, () => {
    const { names, inputs, f } = asFunction(kind, c);
    const grads = numericalVjp(f, inputs, fromGolden(c.upstream));
    names.forEach((n, i) => assertClose(grads[i], fromGolden(c.grads[n]), `grad ${n}`));
  });

  test('mixedop.json: grads w.r.t. the softmax weights (Σ upstream ⊙ op_k(x))', () => {
    for (const c of load('mixedop.json')) {
      const x = fromGolden(c.inputs.x);
      const byOp = splitOpWeights(Object.fromEntries(Object.entries(c.weights).map(([k, t]) => [k, fromGolden(t)])));
      const [g] = numericalVjp(([w]) => mixedOpWeighted(x, w, byOp, c.stride), [softmax(fromGolden(c.inputs.alphas))], fromGolden(c.upstream));
      assertClose(g, fromGolden(c.grads.softmax_weights), `${c.name} softmax_weights`);
    }
  });
});

describe('reference details not covered by the golden files', () => {
  test('numericalVjp on chosen elements: same values there, NaN elsewhere, inputs restored', () => {
    const c = load('blocks.json').find((k) => k.name === 'relu_conv_bn_1x1')!;
    const { inputs, f } = asFunction('blocks', c);
    const before = inputs.map((t) => Float64Array.from(t.data));
    const up = fromGolden(c.upstream), picked = [0, 5, 77];
    const full = numericalVjp(f, inputs, up), some = numericalVjp(f, inputs, up, 1e-6, [picked, []]);
    assert.deepEqual(inputs.map((t) => t.data), before);
    assert.deepEqual(picked.map((j) => some[0].data[j]), picked.map((j) => full[0].data[j]));
    assert.ok(Number.isNaN(some[0].data[1]) && some[1].data.every(Number.isNaN));
  });

  test('aux-head avgPool 5×5 stride 3 pad 0 is the mean of each in-image window; count_include_pad only changes borders', () => {
    const x = random([2, 3, 8, 8], mulberry32(7));
    const y = avgPool(x, 5, 3, 0);
    assert.deepEqual(y.shape, [2, 3, 2, 2]);
    let s = 0;
    for (let h = 3; h < 8; h++) for (let w = 0; w < 5; w++) s += x.data[(1 * 3 + 2) * 64 + h * 8 + w];
    assert.ok(Math.abs(y.data[(1 * 3 + 2) * 4 + 2] - s / 25) < 1e-12);
    const incl = avgPool(x, 3, 1, 1, true), excl = avgPool(x, 3, 1, 1);
    assert.ok(Math.abs(incl.data[0] - (excl.data[0] * 4) / 9) < 1e-12 && Math.abs(incl.data[9] - excl.data[9]) < 1e-12);
  });

  test('aux-head 2×2 conv: output size and one hand-computed value', () => {
    const rng = mulberry32(11), x = random([1, 2, 2, 2], rng), w = random([3, 2, 2, 2], rng);
    const y = conv2d(x, w);
    assert.deepEqual(y.shape, [1, 3, 1, 1]);
    const expect = x.data.reduce((s, v, i) => s + v * w.data[8 + i], 0);
    assert.ok(Math.abs(y.data[1] - expect) < 1e-12);
  });
});
