// Max, average and global average pooling on the GPU against the float64 reference, PyTorch's
// tie rule for max pooling, and the PyTorch golden vectors of the search space's pool ops.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { avgPool2d, batchNorm, globalAvgPool, maxPool2d, ShapeError, Tape, Tensor, type PoolWindow } from '../runtime/index.ts';
import { runOpCase, type OpCase } from '../src/golden/opCases.ts';
import * as ref from './ref/ops64.ts';
import { mulberry32, random, zeros, type T64 } from './ref/tensor64.ts';
import { assertClose, gpu, param, toGpu } from './helpers/gpu.ts';
import { gradCheck } from './helpers/gradcheck.ts';

const rng = mulberry32(77);

const SHAPES = [[2, 3, 5, 7], [1, 3, 4, 4], [2, 2, 7, 5], [1, 2, 2, 1], [1, 1, 1, 1]];

for (const shape of SHAPES) {
  for (const stride of [1, 2]) {
    test(`3×3 pools, pad 1, stride ${stride} at [${shape}]`, async () => {
      const be = await gpu();
      const x = random(shape, rng);
      const window = { kernel: 3, stride, pad: 1 };
      await gradCheck(be, { name: 'max_pool', gpuOp: ([t]) => maxPool2d(t!, window), refOp: ([t]) => ref.maxPool3x3(t!, stride), inputs: [x] });
      await gradCheck(be, { name: 'avg_pool', gpuOp: ([t]) => avgPool2d(t!, window), refOp: ([t]) => ref.avgPool(t!, 3, stride, 1), inputs: [x] });
    });
  }
}

test('3×3 pools with stride 3 or without padding (every way the window can slide)', async () => {
  const be = await gpu();
  const x = random([2, 3, 7, 8], rng);
  for (const window of [{ kernel: 3, stride: 3, pad: 1 }, { kernel: 3, stride: 3, pad: 0 }, { kernel: 3, stride: 1, pad: 0 }, { kernel: 3, stride: 2, pad: 0 }]) {
    const { stride, pad } = window;
    await gradCheck(be, { name: `max_pool s${stride} p${pad}`, gpuOp: ([t]) => maxPool2d(t!, window), refOp: ([t]) => maxPoolRef(t!, window).y, inputs: [x] });
    await gradCheck(be, { name: `avg_pool s${stride} p${pad}`, gpuOp: ([t]) => avgPool2d(t!, window), refOp: ([t]) => ref.avgPool(t!, 3, stride, pad), inputs: [x] });
  }
});

test('average pools with other windows: the auxiliary head\'s 5×5 stride 3, 2×2 pad 1, 4×4 pad 2', async () => {
  const be = await gpu();
  for (const [shape, kernel, stride, pad] of [[[2, 3, 8, 8], 5, 3, 0], [[1, 2, 7, 9], 5, 3, 0], [[1, 3, 5, 4], 2, 2, 1], [[1, 2, 5, 7], 4, 1, 2]] as const) {
    await gradCheck(be, {
      name: `avg_pool_${kernel}x${kernel}`, gpuOp: ([t]) => avgPool2d(t!, { kernel, stride, pad }), refOp: ([t]) => ref.avgPool(t!, kernel, stride, pad),
      inputs: [random(shape, rng)],
    });
  }
});

test('global average pool at odd sizes', async () => {
  const be = await gpu();
  for (const shape of [[2, 3, 5, 7], [3, 1, 1, 2]]) {
    await gradCheck(be, { name: 'global_avg_pool', gpuOp: ([t]) => globalAvgPool(t!), refOp: ([t]) => ref.globalAvgPool(t!), inputs: [random(shape, rng)] });
  }
});

/**
 * Max pool with PyTorch's routing: each window's gradient goes to its first maximum in scan order,
 * starting from its first in-image tap; a NaN wins whatever it meets, so the last NaN takes it.
 */
function maxPoolRef(x: T64, { kernel: k, stride: s, pad }: Required<PoolWindow>, dy?: T64): { y: T64; dx: T64 } {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const OH = Math.floor((H + 2 * pad - k) / s) + 1;
  const OW = Math.floor((W + 2 * pad - k) / s) + 1;
  const y = zeros([N, C, OH, OW]);
  const dx = zeros(x.shape);
  for (let nc = 0; nc < N * C; nc++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    let best = -Infinity;
    let at = -1;
    for (let kh = 0; kh < k; kh++) for (let kw = 0; kw < k; kw++) {
      const h = oh * s - pad + kh;
      const w = ow * s - pad + kw;
      if (h < 0 || h >= H || w < 0 || w >= W) continue;
      const i = (nc * H + h) * W + w;
      if (at < 0 || x.data[i]! > best || Number.isNaN(x.data[i])) [best, at] = [x.data[i]!, i];
    }
    const o = (nc * OH + oh) * OW + ow;
    y.data[o] = best;
    if (dy) dx.data[at] += dy.data[o]!;
  }
  return { y, dx };
}

test('max pool routes each window\'s gradient to its first maximum when values tie', async () => {
  const be = await gpu();
  // The wasm backend takes small planes whole and larger ones (over 1024 values) a row at a time.
  for (const [stride, shape] of [[1, [2, 3, 5, 7]], [2, [2, 3, 5, 7]], [1, [1, 2, 33, 35]], [1, [1, 1, 1, 1030]]] as const) {
    const x = random(shape, rng);
    x.data = x.data.map((v) => (v > 0 ? 1 : 0)); // ties in almost every window
    const dy0 = maxPoolRef(x, { kernel: 3, stride, pad: 1 }).y;
    const dy = random(dy0.shape, rng);
    const want = maxPoolRef(x, { kernel: 3, stride, pad: 1 }, dy);
    const tape = new Tape();
    const xt = param(be, x, 'x');
    const y = tape.run(() => maxPool2d(xt, { kernel: 3, stride, pad: 1 }));
    tape.backward(y, tape.run(() => toGpu(be, dy)));
    assert.deepEqual(Array.from(await y.read()), Array.from(want.y.data), `forward, stride ${stride} at [${shape}]`);
    assertClose(await xt.grad!.read(), want.dx.data, `dx, stride ${stride} at [${shape}]`);
    tape.dispose();
    xt.grad!.release();
    xt.release();
  }
});

test('max pool passes NaN on as PyTorch does (its gradient to the window\'s last NaN), and takes windows of −∞', async () => {
  const be = await gpu();
  const special = [NaN, Infinity, -Infinity, 0, -0, 1, -1];
  const cases: [number, T64][] = [];
  // PyTorch 1.13's max_pool2d_with_indices on this plane: indices [[3, 3, 1], [3, 8, 8], [3, 8, 8]].
  cases.push([1, { shape: [1, 1, 3, 3], data: Float64Array.from([1, NaN, 3, NaN, 5, 6, 7, 8, NaN]) }]);
  for (const [stride, shape] of [[1, [2, 3, 5, 7]], [2, [2, 3, 5, 7]], [1, [1, 2, 33, 35]], [2, [1, 2, 33, 35]], [1, [1, 1, 1, 1030]]] as const) {
    const x = random(shape, rng);
    x.data = x.data.map((v) => special[Math.floor(Math.abs(v) * 1e6) % special.length]!);
    cases.push([stride, x]);
  }
  cases.push([1, { shape: [1, 1, 2, 2], data: Float64Array.from([-Infinity, -Infinity, -Infinity, -Infinity]) }]);
  for (const [stride, x] of cases) {
    const window = { kernel: 3, stride, pad: 1 };
    const outputs = maxPoolRef(x, window).y;
    // Distinct powers of two: each input's gradient says exactly which windows routed to it.
    const dy = { shape: outputs.shape, data: outputs.data.map((_, i) => 2 ** (i % 40)) };
    const want = maxPoolRef(x, window, dy);
    if (x === cases[0]![1]) assert.deepEqual(Array.from(want.dx.data), [0, 4, 0, 1 + 2 + 8 + 64, 0, 0, 0, 0, 16 + 32 + 128 + 256], 'the reference routes as PyTorch');
    const tape = new Tape();
    const xt = param(be, x, 'x');
    const y = tape.run(() => maxPool2d(xt, window));
    tape.backward(y, tape.run(() => toGpu(be, dy)));
    const where = `stride ${stride} at [${x.shape}]`;
    assert.deepEqual(Array.from(await y.read()), Array.from(Float32Array.from(want.y.data)), `forward, ${where}`);
    assert.deepEqual(Array.from(await xt.grad!.read()), Array.from(Float32Array.from(want.dx.data)), `dx, ${where}`);
    tape.dispose();
    xt.grad!.release();
    xt.release();
  }
});

for (const file of ['primitives_stride1', 'primitives_stride2']) {
  test(`golden: ${file} pools, raw and followed by BN, match PyTorch`, async () => {
    const be = await gpu();
    const golden = JSON.parse(readFileSync(new URL(`./golden/${file}.json`, import.meta.url), 'utf8'));
    const cases = (golden.cases as OpCase[]).filter((c) => c.op === 'max_pool_3x3' || c.op === 'avg_pool_3x3');
    assert.equal(cases.length, 4);
    for (const c of cases) {
      const got = await runOpCase(be, c, ({ input }) => {
        const window = { kernel: 3, stride: c.stride as number, pad: 1 };
        const y = c.op === 'max_pool_3x3' ? maxPool2d(input('x'), window) : avgPool2d(input('x'), window);
        return { y: c.pool_followed_by_bn ? batchNorm(y, { training: true }) : y };
      });
      assertClose(got.get('outputs.y')!, c.outputs.y!.data, `${c.name} y`);
      assertClose(got.get('grads.x')!, c.grads.x!.data, `${c.name} dx`);
    }
  });
}

test('golden: global average pool matches PyTorch', async () => {
  const be = await gpu();
  const blocks = JSON.parse(readFileSync(new URL('./golden/blocks.json', import.meta.url), 'utf8'));
  const c = (blocks.cases as OpCase[]).find((k) => k.op === 'global_avg_pool')!;
  const got = await runOpCase(be, c, ({ input }) => ({ y: globalAvgPool(input('x')) }));
  assertClose(got.get('outputs.y')!, c.outputs.y!.data, 'y');
  assertClose(got.get('grads.x')!, c.grads.x!.data, 'dx');
});

test('pools reject windows and inputs they cannot take, naming the problem', async () => {
  const be = await gpu();
  const x = Tensor.zeros(be, [1, 2, 3, 3]);
  const cases: [() => unknown, RegExp][] = [
    [() => maxPool2d(Tensor.zeros(be, [2, 3, 3]), { kernel: 3, stride: 1, pad: 1 }), /max_pool2d: expects an NCHW input, got \[2, 3, 3\]/],
    [() => avgPool2d(x, { kernel: 3, stride: 1, pad: 2 }), /avg_pool2d: pad 2 must be at most half of kernel 3/],
    [() => avgPool2d(x, { kernel: 5, stride: 3 }), /avg_pool2d: a 5×5 window with pad 0 does not fit input \[1, 2, 3, 3\]/],
    [() => maxPool2d(x, { kernel: 3, stride: 1.5, pad: 1 }), /max_pool2d: kernel 3, stride 1.5 and pad 1 must be integers/],
    [() => maxPool2d(x, { kernel: 2 }), /max_pool2d: only 3×3 windows are implemented, got kernel 2/],
    [() => globalAvgPool(Tensor.zeros(be, [4, 3])), /global_avg_pool: expects an NCHW input, got \[4, 3\]/],
  ];
  for (const [call, message] of cases) assert.throws(call, (e: Error) => e instanceof ShapeError && message.test(e.message));
});
