// BatchNorm2d on the GPU against the float64 reference: training and eval mode, with and without
// affine parameters, running statistics, and the reduction at sizes where chunks hold many values.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { batchNorm, runningStats, ShapeError, Tape, Tensor } from '../runtime/index.ts';
import { runOpCase } from '../src/golden/opCases.ts';
import * as ref from './ref/ops64.ts';
import { mulberry32, random, zeros, type T64 } from './ref/tensor64.ts';
import { assertClose, gpu, param, toGpu } from './helpers/gpu.ts';
import { gradCheck } from './helpers/gradcheck.ts';

const rng = mulberry32(2024);
const EPS = 1e-5;

/** Per-channel mean and biased variance over N and H·W. */
function moments(x: T64): { mean: number[]; variance: number[] } {
  const [N, C] = x.shape as [number, number];
  const S = x.data.length / (N * C);
  const mean: number[] = [];
  const variance: number[] = [];
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let n = 0; n < N; n++) for (let i = 0; i < S; i++) s += x.data[(n * C + c) * S + i]!;
    const m = s / (N * S);
    let v = 0;
    for (let n = 0; n < N; n++) for (let i = 0; i < S; i++) v += (x.data[(n * C + c) * S + i]! - m) ** 2;
    mean.push(m);
    variance.push(v / (N * S));
  }
  return { mean, variance };
}

/** Eval mode: y = (x − running mean)/sqrt(running variance + eps)·γ + β. */
function bnEval(x: T64, mean: number[], variance: number[], gamma?: T64, beta?: T64): T64 {
  const [N, C] = x.shape as [number, number];
  const S = x.data.length / (N * C);
  const y = zeros(x.shape);
  for (let i = 0; i < x.data.length; i++) {
    const c = Math.floor(i / S) % C;
    y.data[i] = ((x.data[i]! - mean[c]!) / Math.sqrt(variance[c]! + EPS)) * (gamma?.data[c] ?? 1) + (beta?.data[c] ?? 0);
  }
  return y;
}

/** Training-mode backward in closed form: dx = (γ/σ)·(dy − mean(dy) − x̂·mean(dy·x̂)), dγ = Σ dy·x̂, dβ = Σ dy. */
function bnTrainingBackward(x: T64, dy: T64, gamma?: T64): { dx: T64; dgamma: number[]; dbeta: number[] } {
  const [N, C] = x.shape as [number, number];
  const S = x.data.length / (N * C);
  const M = N * S;
  const { mean, variance } = moments(x);
  const dx = zeros(x.shape);
  const dgamma: number[] = [];
  const dbeta: number[] = [];
  for (let c = 0; c < C; c++) {
    const inv = 1 / Math.sqrt(variance[c]! + EPS);
    const at = (n: number, i: number) => (n * C + c) * S + i;
    let sdy = 0;
    let sdyx = 0;
    for (let n = 0; n < N; n++) for (let i = 0; i < S; i++) {
      sdy += dy.data[at(n, i)]!;
      sdyx += dy.data[at(n, i)]! * (x.data[at(n, i)]! - mean[c]!) * inv;
    }
    const a = (gamma?.data[c] ?? 1) * inv;
    for (let n = 0; n < N; n++) for (let i = 0; i < S; i++) {
      const xhat = (x.data[at(n, i)]! - mean[c]!) * inv;
      dx.data[at(n, i)] = a * (dy.data[at(n, i)]! - sdy / M - xhat * (sdyx / M));
    }
    dgamma.push(sdyx);
    dbeta.push(sdy);
  }
  return { dx, dgamma, dbeta };
}

for (const shape of [[2, 3, 3, 5], [3, 2, 4, 1], [1, 3, 7, 5], [5, 1, 1, 1]]) {
  test(`training-mode BN gradients at [${shape}]`, async () => {
    const be = await gpu();
    const x = random(shape, rng);
    const C = shape[1]!;
    await gradCheck(be, {
      name: 'bn', gpuOp: ([t]) => batchNorm(t!, { training: true }), refOp: ([t]) => ref.batchNorm(t!), inputs: [x], atol: 1e-4, rtol: 1e-3,
    });
    await gradCheck(be, {
      name: 'bn-affine',
      gpuOp: ([t, g, b]) => batchNorm(t!, { training: true, gamma: g, beta: b }),
      refOp: ([t, g, b]) => ref.batchNorm(t!, g, b),
      inputs: [x, random([C], rng), random([C], rng)],
      atol: 1e-4, rtol: 1e-3,
    });
  });
}

test('eval-mode BN normalises with the running statistics and differentiates as a per-channel affine map', async () => {
  const be = await gpu();
  const [N, C, H, W] = [2, 3, 5, 3];
  const x = random([N, C, H, W], rng);
  const mean = [0.3, -1.2, 0.05];
  const variance = [0.5, 2.5, 1.1];
  const running = () => ({ mean: Tensor.from(be, mean, [C]), variance: Tensor.from(be, variance, [C]) });
  await gradCheck(be, {
    name: 'bn-eval', gpuOp: ([t]) => batchNorm(t!, { training: false, running: running() }),
    refOp: ([t]) => bnEval(t!, mean, variance), inputs: [x],
  });
  await gradCheck(be, {
    name: 'bn-eval-affine',
    gpuOp: ([t, g, b]) => batchNorm(t!, { training: false, running: running(), gamma: g, beta: b }),
    refOp: ([t, g, b]) => bnEval(t!, mean, variance, g, b),
    inputs: [x, random([C], rng), random([C], rng)],
  });
});

test('running statistics after two training steps match PyTorch\'s update rule', async () => {
  const be = await gpu();
  const C = 3;
  for (const momentum of [0.1, 0.3]) {
    const stats = runningStats(be, C);
    const want = { mean: [0, 0, 0], variance: [1, 1, 1] };
    for (const shape of [[2, C, 3, 5], [4, C, 2, 3]]) {
      const x = random(shape, rng, 2);
      const tape = new Tape();
      tape.run(() => batchNorm(toGpu(be, x), { training: true, running: stats, momentum }));
      tape.dispose();
      const M = shape[0]! * shape[2]! * shape[3]!;
      const batch = moments({ shape: x.shape, data: Float64Array.from(Float32Array.from(x.data)) });
      for (let c = 0; c < C; c++) {
        want.mean[c] = (1 - momentum) * want.mean[c]! + momentum * batch.mean[c]!;
        want.variance[c] = (1 - momentum) * want.variance[c]! + momentum * batch.variance[c]! * (M / (M - 1));
      }
    }
    assertClose(await stats.mean.read(), want.mean, `running mean (momentum ${momentum})`);
    assertClose(await stats.variance.read(), want.variance, `running variance (momentum ${momentum})`);
    // Eval mode then reads exactly these statistics.
    const x = random([1, C, 2, 2], rng);
    const y = batchNorm(toGpu(be, x), { training: false, running: stats });
    const running = { mean: Array.from(await stats.mean.read()), variance: Array.from(await stats.variance.read()) };
    assertClose(await y.read(), bnEval(x, running.mean, running.variance).data, 'eval after updates');
    for (const t of [y, stats.mean, stats.variance]) t.release();
  }
});

test('chunks holding many values: large and off-centre inputs, bit-identical reruns', async () => {
  const be = await gpu();
  // 3 channels of 2·40·40 values: each first-stage chunk sums a strided slice of both images.
  const shape = [2, 3, 40, 40];
  const x = random(shape, rng);
  for (let i = 0; i < x.data.length; i++) x.data[i] = 100 + 0.01 * x.data[i]!; // variance far below mean²
  const x32 = { shape, data: Float64Array.from(Float32Array.from(x.data)) };
  const dy = random(shape, rng);
  const gamma = random([3], rng);
  const beta = random([3], rng);
  const run = async () => {
    const tape = new Tape();
    const [xt, g, b] = [param(be, x32, 'x'), param(be, gamma, 'gamma'), param(be, beta, 'beta')];
    const y = tape.run(() => batchNorm(xt, { training: true, gamma: g, beta: b }));
    tape.backward(y, tape.run(() => toGpu(be, dy)));
    const out = { y: await y.read(), dx: await xt.grad!.read(), dgamma: await g.grad!.read(), dbeta: await b.grad!.read() };
    tape.dispose();
    for (const t of [xt, g, b]) {
      t.grad?.release();
      t.release();
    }
    return out;
  };
  const first = await run();
  const want = bnTrainingBackward(x32, dy, gamma);
  assertClose(first.y, ref.batchNorm(x32, gamma, beta).data, 'forward', 1e-3, 1e-3);
  assertClose(first.dx, want.dx.data, 'dx', 1e-2, 1e-3);
  assertClose(first.dgamma, want.dgamma, 'dgamma', 1e-2, 1e-3);
  assertClose(first.dbeta, want.dbeta, 'dbeta', 1e-3, 1e-4);
  const second = await run();
  for (const key of ['y', 'dx', 'dgamma', 'dbeta'] as const) {
    assert.deepEqual(new Uint32Array(second[key].buffer), new Uint32Array(first[key].buffer), `${key} differs between runs`);
  }
});

test('golden: BatchNorm2d(affine=False) in training mode matches PyTorch', async () => {
  const be = await gpu();
  const blocks = JSON.parse(readFileSync(new URL('./golden/blocks.json', import.meta.url), 'utf8'));
  const c = blocks.cases.find((k: { op: string }) => k.op === 'batchnorm');
  const got = await runOpCase(be, c, ({ input }) => ({ y: batchNorm(input('x'), { training: true }) }));
  assertClose(got.get('outputs.y')!, c.outputs.y.data, 'y');
  assertClose(got.get('grads.x')!, c.grads.x.data, 'dx');
});

test('BN rejects inputs it cannot normalise, naming the problem', async () => {
  const be = await gpu();
  const x = Tensor.zeros(be, [2, 3, 4, 4]);
  const c3 = Tensor.zeros(be, [3]);
  const c4 = Tensor.zeros(be, [4]);
  const cases: [() => unknown, RegExp][] = [
    [() => batchNorm(Tensor.zeros(be, [2, 3, 4]), { training: true }), /batch_norm: expects an NCHW input, got \[2, 3, 4\]/],
    [() => batchNorm(x, { training: true, gamma: c4, beta: c4 }), /gamma is \[4\], expected \[3\]/],
    [() => batchNorm(x, { training: true, gamma: c3 }), /gamma and beta must be given together/],
    [() => batchNorm(x, { training: true, running: { mean: c3, variance: c4 } }), /running variance is \[4\], expected \[3\]/],
    [() => batchNorm(x, { training: false }), /eval mode needs running statistics/],
    [() => batchNorm(Tensor.zeros(be, [1, 3, 1, 1]), { training: true }), /more than one value per channel/],
  ];
  for (const [call, message] of cases) assert.throws(call, (e: Error) => e instanceof ShapeError && message.test(e.message));
});
