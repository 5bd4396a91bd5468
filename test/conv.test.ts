// conv2d forward and both gradients against the float64 reference and its finite differences:
// depthwise, pointwise (GEMM) and dense kernels on small odd, non-square shapes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { conv2d, conv2dPair, relu, ShapeError, Tape, Tensor, type ConvOptions } from '../runtime/index.ts';
import * as ref from './ref/ops64.ts';
import { mulberry32, random } from './ref/tensor64.ts';
import { gpu, param, toGpu } from './helpers/gpu.ts';
import { gradCheck } from './helpers/gradcheck.ts';

const rng = mulberry32(2024);
const dim = (lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));

interface Case {
  x: number[];
  w: number[];
  opts: ConvOptions;
  /** Only the weight gradient is checked (x too large to differentiate element by element). */
  weightOnly?: boolean;
}

const describe = ({ x, w, opts }: Case) =>
  `x [${x}] w [${w}] ${Object.entries(opts).map(([k, v]) => `${k}=${v}`).join(' ')}`;

async function check(name: string, c: Case): Promise<void> {
  const { crop: [top, left] = [0, 0], ...refOpts } = c.opts;
  await gradCheck(await gpu(), {
    name: `${name} ${describe(c)}`,
    gpuOp: ([x, w]) => conv2d(x!, w!, c.opts),
    refOp: ([x, w]) => ref.conv2d(top || left ? ref.crop(x!, top, left) : x!, w!, refOpts),
    inputs: [random(c.x, rng), random(c.w, rng)],
    differentiable: c.weightOnly ? [false, true] : [true, true],
    atol: c.weightOnly ? 1e-4 : 1e-5,
  });
}

const depthwise = (x: number[], k: number, stride: number, pad: number, dilation: number): Case => ({
  x, w: [x[1]!, 1, k, k], opts: { stride, pad, dilation, groups: x[1]! },
});

const DEPTHWISE: Case[] = [
  depthwise([2, 3, 5, 7], 3, 1, 1, 1),
  depthwise([1, 3, 6, 5], 5, 1, 2, 1),
  depthwise([2, 3, 7, 6], 3, 2, 1, 1),
  depthwise([1, 2, 9, 7], 5, 2, 2, 1),
  depthwise([1, 3, 7, 5], 3, 1, 2, 2),
  depthwise([2, 2, 5, 8], 5, 2, 4, 2),
  depthwise([1, 3, 11, 10], 3, 2, 0, 1),
  // Dilation wider than the input: most taps fall in the padding.
  depthwise([1, 2, 3, 4], 3, 1, 4, 4),
  depthwise([1, 4, 2, 3], 3, 2, 3, 3),
  // Planes of several 8-column blocks and 4-row groups (interleaved at dilation 2), no padding, a crop.
  depthwise([1, 2, 12, 13], 5, 1, 4, 2),
  depthwise([1, 2, 9, 10], 3, 1, 0, 1),
  { x: [1, 2, 8, 9], w: [2, 1, 3, 3], opts: { stride: 1, pad: 1, groups: 2, crop: [1, 2] } },
  // Stride 2 over rows of 8 and more, odd and even (padded by splitting whole rows), and the unrolled
  // input gradients: two vectors of each column parity, an odd last row, blocks of two row pairs.
  depthwise([1, 2, 7, 17], 3, 2, 1, 1),
  depthwise([1, 2, 9, 18], 3, 2, 2, 2),
  depthwise([1, 2, 6, 11], 5, 2, 2, 1),
  depthwise([1, 2, 5, 16], 5, 2, 4, 2),
  // Four channels at a time (C a multiple of four, as in every search network): each kernel,
  // dilation and stride of the search space, on odd and even planes, rows under four wide, padding
  // other than the kernel's own, and crops.
  depthwise([2, 4, 7, 9], 3, 1, 1, 1),
  depthwise([1, 8, 8, 8], 5, 1, 4, 2),
  depthwise([1, 4, 9, 6], 5, 2, 2, 1),
  depthwise([2, 4, 8, 11], 3, 2, 2, 2),
  depthwise([1, 4, 13, 10], 5, 2, 4, 2),
  depthwise([1, 8, 5, 3], 3, 2, 1, 1),
  depthwise([1, 4, 6, 7], 5, 1, 1, 1),
  depthwise([1, 4, 7, 6], 3, 2, 3, 2),
  { x: [1, 4, 9, 8], w: [4, 1, 3, 3], opts: { stride: 2, pad: 1, groups: 4, crop: [1, 1] } },
  { x: [1, 4, 7, 9], w: [4, 1, 5, 5], opts: { pad: 2, groups: 4, crop: [2, 1] } },
];

const POINTWISE: Case[] = [
  { x: [2, 5, 3, 4], w: [6, 5, 1, 1], opts: {} },
  { x: [3, 3, 5, 5], w: [2, 3, 1, 1], opts: {} },
  { x: [1, 7, 1, 9], w: [5, 7, 1, 1], opts: {} },
];

const DENSE: Case[] = [
  { x: [2, 3, 5, 6], w: [5, 3, 3, 3], opts: { pad: 1 } },
  { x: [2, 6, 5, 7], w: [3, 6, 1, 1], opts: { stride: 2 } },
  { x: [2, 5, 4, 3], w: [6, 5, 2, 2], opts: {} },
  // FactorizedReduce's second half: x[:, :, 1:, 1:] through a stride-2 1×1 conv.
  { x: [2, 4, 6, 6], w: [2, 4, 1, 1], opts: { stride: 2, crop: [1, 1] } },
  { x: [1, 3, 7, 6], w: [2, 3, 3, 3], opts: { stride: 2, pad: 2, crop: [2, 1] } },
];

/** A random spatial size the kernel fits in, up to a few pixels more than it needs. */
const size = (k: number, dilation: number, pad: number) => {
  const least = Math.max(1, dilation * (k - 1) + 1 - 2 * pad);
  return dim(least, least + 5);
};

for (let trial = 0; trial < 3; trial++) {
  const [k, C, dilation, pad] = [dim(1, 3), dim(1, 5), dim(1, 2), dim(0, 2)];
  DENSE.push({ x: [dim(1, 2), C, size(k, dilation, pad), size(k, dilation, pad)], w: [dim(1, 6), C, k, k], opts: { stride: dim(1, 2), pad, dilation } });
  const kd = 2 * dim(1, 2) + 1;
  const dd = dim(1, 2);
  const pd = dim(0, dd * (kd >> 1));
  DEPTHWISE.push(depthwise([dim(1, 2), C, size(kd, dd, pd), size(kd, dd, pd)], kd, dim(1, 2), pd, dd));
  POINTWISE.push({ x: [dim(1, 3), C, dim(1, 6), dim(1, 6)], w: [dim(1, 6), C, 1, 1], opts: {} });
}

for (const c of DEPTHWISE) test(`depthwise conv ${describe(c)}`, () => check('depthwise', c));
for (const c of POINTWISE) test(`pointwise conv ${describe(c)}`, () => check('pointwise', c));
for (const c of DENSE) test(`dense conv ${describe(c)}`, () => check('dense', c));

// Weight gradients longer than one chunk of the reduction, added in order.
const CHUNKED: Case[] = [
  { ...depthwise([2, 2, 40, 64], 3, 1, 1, 1), weightOnly: true },
  { ...depthwise([3, 4, 40, 24], 5, 1, 4, 2), weightOnly: true },
  { x: [2, 2, 40, 64], w: [3, 2, 3, 3], opts: { pad: 1, dilation: 2 }, weightOnly: true },
  { x: [2, 2, 40, 40], w: [3, 2, 1, 1], opts: {}, weightOnly: true },
];

for (const c of CHUNKED) test(`weight gradient over several chunks ${describe(c)}`, () => check('chunked', c));

test('forward and both gradients come out bit for bit the same on every run', async () => {
  const be = await gpu();
  for (const c of CHUNKED) {
    const [x64, w64] = [random(c.x, rng), random(c.w, rng)];
    const run = async () => {
      const tape = new Tape();
      const x = param(be, x64, 'x');
      const w = param(be, w64, 'w');
      const y = tape.run(() => conv2d(x, w, c.opts));
      tape.backward(y, tape.run(() => Tensor.full(be, y.shape, 0.5)));
      const bits = await Promise.all([y.read(), x.grad!.read(), w.grad!.read()]);
      tape.dispose();
      for (const t of [x, w]) {
        t.grad?.release();
        t.release();
      }
      return bits;
    };
    const [first, second] = [await run(), await run()];
    first.forEach((values, i) => assert.deepEqual(second[i], values, `${describe(c)}: output ${i} differs between runs`));
  }
});

test('conv2d rejects shapes that do not fit, naming the op and the shapes', async () => {
  const be = await gpu();
  const x = Tensor.zeros(be, [2, 3, 5, 5]);
  const bad = (w: number[], opts: ConvOptions, pattern: RegExp) =>
    assert.throws(() => conv2d(x, Tensor.zeros(be, w), opts), (e: unknown) => e instanceof ShapeError && pattern.test(e.message));
  bad([4, 2, 3, 3], {}, /^conv2d: weight \[4, 2, 3, 3\] with groups=1 does not fit input \[2, 3, 5, 5\]/);
  bad([4, 1, 3, 3], { groups: 3 }, /^conv2d: weight \[4, 1, 3, 3\] with groups=3/);
  bad([3, 3, 7, 7], {}, /^conv2d: kernel 7×7 with dilation 1 does not fit input 5×5/);
  bad([3, 3, 3], {}, /^conv2d: weight must be/);
  x.release();
});

test('a backward pass with a gradient of the wrong shape names conv2d', async () => {
  const be = await gpu();
  const tape = new Tape();
  const x = toGpu(be, random([1, 2, 4, 4], rng));
  const w = Tensor.parameter(be, Float32Array.from(random([2, 1, 3, 3], rng).data), [2, 1, 3, 3], 'dw');
  const y = tape.run(() => conv2d(x, w, { pad: 1, groups: 2 }));
  const wrong = tape.run(() => Tensor.zeros(be, [1, 2, 3, 3]));
  assert.throws(() => tape.backward(y, wrong), /^ShapeError: conv2d backward: output gradient \[1, 2, 3, 3\] does not match the output \[1, 2, 4, 4\]/);
  tape.dispose();
  x.release();
  w.release();
});

/** The output and the gradients of every parameter in `params`, after a backward from a fixed upstream. */
async function outputAndGrads(params: Tensor[], op: () => Tensor): Promise<Float32Array[]> {
  const be = await gpu();
  const tape = new Tape();
  const y = tape.run(op);
  tape.backward(y, tape.run(() => Tensor.full(be, y.shape, 0.25)));
  const bits = await Promise.all([y.read(), ...params.map((p) => p.grad!.read())]);
  tape.dispose();
  for (const p of params) {
    p.grad?.release();
    p.grad = null;
  }
  return bits;
}

test('reluInput convolves relu(x) without making it: the bits of conv2d(relu(x)), gradients included', async () => {
  const be = await gpu();
  // SepConv's and DilConv's depthwise convs (strided, and the blocked stride-1 paths), FactorizedReduce's
  // strided, cropped 1×1 one, and a dense 3×3 one: the input-gradient kernels mask dx as they store it.
  const cases: Case[] = [
    depthwise([2, 3, 6, 7], 3, 2, 1, 1), depthwise([1, 4, 7, 5], 5, 1, 4, 2), depthwise([2, 3, 9, 10], 3, 1, 1, 1),
    { x: [2, 4, 6, 6], w: [2, 4, 1, 1], opts: { stride: 2, crop: [1, 1] } }, { x: [2, 3, 6, 5], w: [4, 3, 3, 3], opts: { pad: 1 } },
  ];
  for (const c of cases) {
    const x = param(be, random(c.x, rng), 'x');
    const w = param(be, random(c.w, rng), 'w');
    const fused = await outputAndGrads([x, w], () => conv2d(x, w, { ...c.opts, reluInput: true }));
    const apart = await outputAndGrads([x, w], () => conv2d(relu(x), w, c.opts));
    fused.forEach((values, i) => assert.deepEqual(values, apart[i], `${describe(c)}: ${['output', 'dx', 'dw'][i]} differs`));
    assert.ok(fused[1]!.some((v) => v === 0) && fused[1]!.some((v) => v !== 0), 'dx is masked where x < 0, and only there');
    x.release();
    w.release();
  }
});

test('conv2dPair keeps only its input and gives the bits of two conv2d calls, gradients included', async () => {
  const be = await gpu();
  const x = param(be, random([2, 3, 7, 6], rng), 'x');
  const dw = param(be, random([3, 1, 3, 3], rng), 'dw');
  const pw = param(be, random([3, 3, 1, 1], rng), 'pw');
  const first: ConvOptions = { stride: 2, pad: 2, dilation: 2, groups: 3, reluInput: true };
  const paired = await outputAndGrads([x, dw, pw], () => conv2dPair(x, dw, first, pw));
  const apart = await outputAndGrads([x, dw, pw], () => conv2d(conv2d(x, dw, first), pw));
  paired.forEach((values, i) => assert.deepEqual(values, apart[i], `${['output', 'dx', 'd dw', 'd pw'][i]} differs`));
  const kept = await outputAndGrads([x, dw, pw], () => conv2dPair(x, dw, first, pw, {}, { keepInner: true }));
  kept.forEach((values, i) => assert.deepEqual(values, apart[i], `keeping the inner output: ${['output', 'dx', 'd dw', 'd pw'][i]} differs`));
  // Nothing but the output outlives the forward: the inner activation is computed again for d pw,
  // unless it is kept.
  for (const keepInner of [false, true]) {
    const tape = new Tape();
    const before = be.memory().liveBuffers;
    tape.run(() => conv2dPair(x, dw, first, pw, {}, { keepInner }));
    assert.equal(be.memory().liveBuffers, before + (keepInner ? 2 : 1));
    tape.dispose();
    assert.equal(be.memory().liveBuffers, before);
  }
  for (const t of [x, dw, pw]) t.release();
});
