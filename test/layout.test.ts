// Channel concat, crop, the Zero op and MixedOp's weighted sum on the GPU against the float64 reference.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { concatChannels, crop, ShapeError, Tape, Tensor, weightedSum, zero } from '../runtime/index.ts';
import * as ref from './ref/ops64.ts';
import { mulberry32, random, zeros, type T64 } from './ref/tensor64.ts';
import { assertClose, gpu, param, toGpu } from './helpers/gpu.ts';
import { gradCheck } from './helpers/gradcheck.ts';

const rng = mulberry32(99);

/** Σ_k w[k]·branch_k in branch order. */
function weightedSum64(branches: T64[], w: T64): T64 {
  const y = zeros(branches[0]!.shape);
  branches.forEach((b, k) => b.data.forEach((v, i) => (y.data[i] += w.data[k]! * v)));
  return y;
}

test('channel concat of inputs with 1, 3 and 2 channels, and of a single input', async () => {
  const be = await gpu();
  const inputs = [random([2, 1, 3, 5], rng), random([2, 3, 3, 5], rng), random([2, 2, 3, 5], rng)];
  await gradCheck(be, { name: 'concat', gpuOp: (xs) => concatChannels(xs), refOp: (xs) => ref.concat(xs), inputs });
  await gradCheck(be, { name: 'concat-one', gpuOp: (xs) => concatChannels(xs), refOp: (xs) => ref.concat(xs), inputs: [random([1, 3, 2, 3], rng)] });
});

for (const [shape, top, left] of [[[2, 3, 5, 7], 1, 1], [[1, 3, 4, 3], 0, 2], [[2, 2, 3, 6], 2, 0]] as const) {
  test(`crop [${shape}] at top ${top}, left ${left}`, async () => {
    const be = await gpu();
    await gradCheck(be, { name: 'crop', gpuOp: ([x]) => crop(x!, top, left), refOp: ([x]) => ref.crop(x!, top, left), inputs: [random(shape, rng)] });
  });
}

test('zero(x, stride) is a constant of shape N, C, ceil(H/s), ceil(W/s) with no gradient to x', async () => {
  const be = await gpu();
  const x = random([2, 3, 5, 7], rng);
  for (const stride of [1, 2, 3]) {
    const tape = new Tape();
    const xt = param(be, x, 'x');
    const y = tape.run(() => zero(xt, stride));
    assert.deepEqual(y.shape, ref.zero(x, stride).shape);
    assert.ok((await y.read()).every((v) => v === 0), 'all zeros');
    assert.equal(y.requiresGrad, false);
    assert.equal(tape.size.nodes, 0, 'nothing recorded');
    tape.dispose();
    xt.release();
  }
  // As MixedOp's 'none' branch: x's gradient is only what the other branches send it.
  await gradCheck(be, {
    name: 'weighted_sum-with-zero',
    gpuOp: ([t, w]) => weightedSum([zero(t!, 1), t!], w!),
    refOp: ([t, w]) => weightedSum64([ref.zero(t!, 1), t!], w!),
    inputs: [x, random([2], rng)],
  });
});

for (const K of [1, 3, 7, 8]) {
  test(`weighted sum of ${K} branches: gradients for every branch and every weight`, async () => {
    const be = await gpu();
    const branches = Array.from({ length: K }, () => random([2, 3, 3, 5], rng));
    await gradCheck(be, {
      name: `weighted_sum-${K}`,
      gpuOp: (ts) => weightedSum(ts.slice(0, K), ts[K]!),
      refOp: (ts) => weightedSum64(ts.slice(0, K), ts[K]!),
      inputs: [...branches, random([K], rng)],
    });
  });
}

test('weighted sum takes a [1, k] row of weights (a row sliced from softmax(alphas)) and a repeated branch', async () => {
  const be = await gpu();
  const b = random([1, 3, 4, 3], rng);
  const c = random([1, 3, 4, 3], rng);
  await gradCheck(be, {
    name: 'weighted_sum-row',
    gpuOp: ([x, y, w]) => weightedSum([x!, y!, x!], w!),
    refOp: ([x, y, w]) => weightedSum64([x!, y!, x!], w!),
    inputs: [b, c, random([1, 3], rng)],
  });
});

test('weighted sum over more values than the dot-product chunks, bit-identical reruns', async () => {
  const be = await gpu();
  const K = 8;
  const shape = [2, 4, 30, 30];
  const branches = Array.from({ length: K }, () => random(shape, rng));
  const w = random([K], rng);
  const g = random(shape, rng);
  const run = async () => {
    const tape = new Tape();
    const bs = branches.map((b, k) => param(be, b, `b${k}`));
    const wt = param(be, w, 'w');
    const y = tape.run(() => weightedSum(bs, wt));
    tape.backward(y, tape.run(() => toGpu(be, g)));
    const out = { y: await y.read(), dw: await wt.grad!.read(), db7: await bs[7]!.grad!.read() };
    tape.dispose();
    for (const t of [...bs, wt]) {
      t.grad?.release();
      t.release();
    }
    return out;
  };
  const first = await run();
  const b32 = branches.map((b) => ({ shape, data: Float64Array.from(Float32Array.from(b.data)) }));
  const w32 = { shape: [K], data: Float64Array.from(Float32Array.from(w.data)) };
  const g32 = Float64Array.from(Float32Array.from(g.data));
  assertClose(first.y, weightedSum64(b32, w32).data, 'forward');
  assertClose(first.dw, b32.map((b) => b.data.reduce((s, v, i) => s + v * g32[i]!, 0)), 'dw', 1e-3, 1e-4);
  assertClose(first.db7, g32.map((v) => v * w32.data[7]!), 'd(branch 7)');
  const second = await run();
  for (const key of ['y', 'dw', 'db7'] as const) {
    assert.deepEqual(new Uint32Array(second[key].buffer), new Uint32Array(first[key].buffer), `${key} differs between runs`);
  }
});

// The weight step: alphas take no gradient, so each branch's is w[k]·g alone, up to six branches to
// a dispatch (13 branches: two full dispatches and one of a single branch).
for (const K of [1, 6, 7, 13]) {
  test(`weighted sum of ${K} branches with weights that take no gradient: each branch gets w[k]·g`, async () => {
    const be = await gpu();
    const shape = [2, 3, 5, 7];
    const branches = Array.from({ length: K }, () => random(shape, rng));
    const w = random([K], rng);
    const g = random(shape, rng);
    const tape = new Tape();
    // The last branch is a constant where there are several: it gets no gradient.
    const bs = branches.map((b, k) => (k === K - 1 && K > 1 ? toGpu(be, b) : param(be, b, `b${k}`)));
    const wt = toGpu(be, w);
    const y = tape.run(() => weightedSum(bs, wt));
    tape.backward(y, tape.run(() => toGpu(be, g)));
    const g32 = Float64Array.from(Float32Array.from(g.data));
    for (const [k, b] of bs.entries()) {
      if (k === K - 1 && K > 1) {
        assert.equal(b.grad, null, 'a constant branch gets no gradient');
        continue;
      }
      const wk = Math.fround(w.data[k]!);
      assertClose(await b.grad!.read(), g32.map((v) => v * wk), `d(branch ${k})`);
    }
    tape.dispose();
    for (const t of [...bs, wt]) {
      t.grad?.release();
      t.release();
    }
  });
}

test('layout ops reject shapes they cannot take, naming the problem', async () => {
  const be = await gpu();
  const x = Tensor.zeros(be, [2, 3, 4, 5]);
  const w2 = Tensor.zeros(be, [2]);
  const cases: [() => unknown, RegExp][] = [
    [() => concatChannels([]), /concat_channels: needs at least one tensor/],
    [() => concatChannels([x, Tensor.zeros(be, [2, 3, 4, 4])]), /concat_channels: \[2, 3, 4, 4\] does not match \[2, 3, 4, 5\] outside the channel dimension/],
    [() => concatChannels([x, Tensor.zeros(be, [2, 3, 20])]), /concat_channels: expects an NCHW input, got \[2, 3, 20\]/],
    [() => crop(x, 4, 0), /crop: top 4 and left 0 must be integers in \[0, 4\) and \[0, 5\)/],
    [() => crop(x, 1, -1), /crop: top 1 and left -1 must be integers/],
    [() => zero(x, 0), /zero: stride 0 must be a positive integer/],
    [() => weightedSum([x, x, x], w2), /weighted_sum: 3 branches but weights \[2\]/],
    [() => weightedSum([x, Tensor.zeros(be, [2, 3, 5, 4])], w2), /weighted_sum: branch \[2, 3, 5, 4\] differs from branch \[2, 3, 4, 5\]/],
    [() => weightedSum([], Tensor.zeros(be, [1])), /weighted_sum: needs at least one branch/],
  ];
  for (const [call, message] of cases) assert.throws(call, (e: Error) => e instanceof ShapeError && message.test(e.message));
});
