// The first ops, forward and backward, against float64 finite differences at random shapes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  add, crossEntropy, linear, matmul, mean, mul, relu, reshape, scale, sliceRows, softmax, sum, Tape, Tensor,
} from '../runtime/index.ts';
import * as ref from './ref/ops64.ts';
import { mulberry32, random, scalar, type T64 } from './ref/tensor64.ts';
import { gpu } from './helpers/gpu.ts';
import { gradCheck } from './helpers/gradcheck.ts';

const rng = mulberry32(1234);
const dim = (lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));
const SHAPES = [[1], [7], [3, 5], [2, 3, 4, 5], [65, 33]];

const map2 = (a: T64, b: T64, f: (x: number, y: number) => number): T64 => ({
  shape: a.shape, data: a.data.map((v, i) => f(v, b.data[i]!)),
});
const total = (x: T64) => scalar(x.data.reduce((s, v) => s + v, 0));

for (const shape of SHAPES) {
  test(`elementwise ops at [${shape}]`, async () => {
    const be = await gpu();
    const a = random(shape, rng);
    const b = random(shape, rng);
    await gradCheck(be, { name: 'add', gpuOp: ([x, y]) => add(x!, y!), refOp: ([x, y]) => map2(x!, y!, (p, q) => p + q), inputs: [a, b] });
    await gradCheck(be, { name: 'mul', gpuOp: ([x, y]) => mul(x!, y!), refOp: ([x, y]) => map2(x!, y!, (p, q) => p * q), inputs: [a, b] });
    await gradCheck(be, { name: 'scale', gpuOp: ([x]) => scale(x!, -1.7), refOp: ([x]) => ({ shape: x!.shape, data: x!.data.map((v) => v * -1.7) }), inputs: [a] });
    await gradCheck(be, { name: 'relu', gpuOp: ([x]) => relu(x!), refOp: ([x]) => ref.relu(x!), inputs: [a] });
    await gradCheck(be, { name: 'sum', gpuOp: ([x]) => sum(x!), refOp: ([x]) => ({ shape: [1], data: total(x!).data }), inputs: [a] });
    await gradCheck(be, {
      name: 'mean', gpuOp: ([x]) => mean(x!),
      refOp: ([x]) => ({ shape: [1], data: total(x!).data.map((v) => v / x!.data.length) }), inputs: [a],
    });
  });
}

test('sum of a long vector goes through the two-level reduction', async () => {
  const be = await gpu();
  const a = random([3, 10007], rng);
  await gradCheck(be, { name: 'sum-long', gpuOp: ([x]) => sum(reshape(x!, [30021])), refOp: ([x]) => ({ shape: [1], data: total(x!).data }), inputs: [a], atol: 1e-3 });
});

for (let trial = 0; trial < 4; trial++) {
  const [M, K, N] = [dim(1, 9), dim(1, 13), dim(1, 11)];
  test(`matmul and linear at M=${M} K=${K} N=${N}`, async () => {
    const be = await gpu();
    const a = random([M, K], rng);
    const b = random([K, N], rng);
    const refMatmul = ([x, y]: T64[]) => ref.linear(x!, { shape: [N, K], data: transpose(y!, K, N) });
    await gradCheck(be, { name: 'matmul', gpuOp: ([x, y]) => matmul(x!, y!), refOp: refMatmul, inputs: [a, b] });
    const w = random([N, K], rng);
    const bias = random([N], rng);
    await gradCheck(be, {
      name: 'linear', gpuOp: ([x, ww, bb]) => linear(x!, ww!, bb!), refOp: ([x, ww, bb]) => ref.linear(x!, ww!, bb!), inputs: [a, w, bias],
    });
  });
}

function transpose(t: T64, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = t.data[r * cols + c]!;
  return out;
}

for (const [rows, cols] of [[1, 1], [14, 8], [5, 37]] as const) {
  test(`softmax and cross-entropy at [${rows}, ${cols}]`, async () => {
    const be = await gpu();
    const x = random([rows, cols], rng, 3);
    await gradCheck(be, { name: 'softmax', gpuOp: ([t]) => softmax(t!), refOp: ([t]) => ref.softmax(t!), inputs: [x] });
    const labels = Array.from({ length: rows }, () => Math.floor(rng() * cols));
    await gradCheck(be, {
      name: 'cross_entropy',
      gpuOp: ([t]) => crossEntropy(t!, Tensor.from(be, labels, [rows])),
      refOp: ([t]) => ({ shape: [1], data: ref.crossEntropy(t!, labels).data }),
      inputs: [x],
    });
  });
}

test('slicing rows passes gradients back to the sliced rows only', async () => {
  const be = await gpu();
  const x = random([6, 5], rng);
  await gradCheck(be, {
    name: 'slice_rows', gpuOp: ([t]) => sliceRows(t!, 2, 3),
    refOp: ([t]) => ({ shape: [3, 5], data: t!.data.slice(10, 25) }), inputs: [x],
  });
});

test('Tape.discard releases what no backward saved at once, and what one saved once the backward has run its last reader', async () => {
  const be = await gpu();
  const w = Tensor.parameter(be, [1, -2, 3, -4], [4], 'w');
  const tape = new Tape();
  const seen: string[] = [];
  // An identity op whose backward notes whether `watched` still holds its buffer when it runs.
  const probe = (name: string, x: Tensor, watched: () => Tensor) => {
    const y = Tape.noGrad(() => scale(x, 1));
    Tape.record('probe', [x], [y], ([g]) => {
      seen.push(`${name}: ${watched().isReleased ? 'released' : 'held'}`);
      return [scale(g!, 1)];
    }, []);
    return y;
  };
  let watched: Tensor | null = null;
  const [sum, product] = tape.run(() => {
    const doubled = add(w, w);
    const sum = add(doubled, w);
    // add's backward reads neither input, mul's reads both.
    Tape.discard(doubled);
    assert.equal(doubled.isReleased, true);
    const early = probe('before mul', sum, () => watched!);
    watched = early;
    const product = mul(early, w);
    Tape.discard(early);
    assert.equal(early.isReleased, false, 'mul saved it');
    return [sum, probe('after mul', product, () => watched!)];
  });
  tape.backward(product, tape.run(() => Tensor.full(be, [4], 1)));
  // The backward runs in reverse: the op after mul sees the tensor mul reads, the op before it does not.
  assert.deepEqual(seen, ['after mul: held', 'before mul: released']);
  // d(3w·w)/dw = 6w
  assert.deepEqual([...(await w.grad!.read())], [6, -12, 18, -24]);
  assert.equal(sum.isReleased, false, 'never discarded: the caller may still read it');
  assert.throws(() => tape.backward(product), /released the activations it read/);
  tape.dispose();
  assert.equal(sum.isReleased, true);
  w.grad!.release();
  w.release();
});

test('an intermediate read by several ops gets the sum of their gradients, added in place where no other gradient shares its tensor', async () => {
  const be = await gpu();
  const x = Tensor.parameter(be, [1, -2, 3, -4, 0.5], [5], 'x');
  const kernels: string[] = [];
  const run = be.run;
  const tape = new Tape();
  const [loss, h] = tape.run(() => {
    const h = scale(x, 2);
    // d/dh: 2h from h·h, 1 through a view, 3, and 1 + 1 from h + h, whose backward hands both
    // inputs one tensor (that sum must not be made in place: the tensor is the other input's too).
    const parts = [sum(mul(h, h)), sum(reshape(h, [1, 5])), sum(scale(h, 3)), sum(add(h, h))];
    return [parts.reduce((a, b) => add(a, b)), h];
  });
  be.run = (call) => {
    kernels.push(call.kernel);
    run.call(be, call);
  };
  try {
    const [dh] = tape.backward(loss, undefined, [h]);
    // dh = 2h + 6 = 4x + 6, dx = 2·dh
    const expected = [1, -2, 3, -4, 0.5].map((v) => 4 * v + 6);
    assert.deepEqual([...(await dh!.read())], expected);
    assert.deepEqual([...(await x.grad!.read())], expected.map((v) => 2 * v));
  } finally {
    be.run = run;
  }
  // Six gradients reach h, last op first: the h + h pair's one tensor is added to itself into a new
  // one, which then takes scale's, the view's and mul's two (one per input) in place.
  const count = (kernel: string) => kernels.filter((k) => k === kernel).length;
  assert.deepEqual([count('elementwise/add'), count('elementwise/axpy')], [1, 4], kernels.join());
  tape.dispose();
  x.grad!.release();
  x.release();
});
