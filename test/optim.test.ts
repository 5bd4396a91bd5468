// SGD, Adam and gradient clipping on the GPU against PyTorch's update rules written out on the CPU.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Adam, clipGradNorm, Sgd, Tensor } from '../runtime/index.ts';
import { Rng } from '../runtime/rng.ts';
import { assertClose, gpu } from './helpers/gpu.ts';

const rng = new Rng(5);
const randn = (n: number) => Float64Array.from({ length: n }, () => rng.normal());
const f32 = (a: Float64Array) => Float64Array.from(Float32Array.from(a));

test('SGD with momentum and weight decay follows torch.optim.SGD over three steps', async () => {
  const backend = await gpu();
  const n = 37;
  let w = f32(randn(n));
  const param = Tensor.parameter(backend, Float32Array.from(w), [n], 'w');
  const sgd = new Sgd([param], { lr: 0.1, momentum: 0.9, weightDecay: 0.01 });
  let buf: Float64Array | null = null;
  for (let step = 0; step < 3; step++) {
    const g = f32(randn(n));
    param.grad = Tensor.from(backend, Float32Array.from(g), [n]);
    sgd.step();
    const d = g.map((v, i) => v + 0.01 * w[i]!);
    buf = buf ? buf.map((b, i) => 0.9 * b + d[i]!) : d;
    w = w.map((v, i) => v - 0.1 * buf![i]!);
    sgd.zeroGrad();
  }
  assertClose(await param.read(), w, 'sgd weights', 1e-6, 1e-5);
});

test('Adam with L2 weight decay follows torch.optim.Adam over three steps', async () => {
  const backend = await gpu();
  const n = 23;
  let w = f32(randn(n));
  const param = Tensor.parameter(backend, Float32Array.from(w), [n], 'alpha');
  const [b1, b2, lr, wd, eps] = [0.5, 0.999, 3e-4, 1e-3, 1e-8];
  const adam = new Adam([param], { lr, betas: [b1, b2], weightDecay: wd, eps });
  let m = new Float64Array(n);
  let v = new Float64Array(n);
  for (let t = 1; t <= 3; t++) {
    const g0 = f32(randn(n));
    param.grad = Tensor.from(backend, Float32Array.from(g0), [n]);
    adam.step();
    const g = g0.map((x, i) => x + wd * w[i]!);
    m = m.map((x, i) => b1 * x + (1 - b1) * g[i]!);
    v = v.map((x, i) => b2 * x + (1 - b2) * g[i]! * g[i]!);
    const bc1 = 1 - b1 ** t;
    const bc2 = 1 - b2 ** t;
    w = w.map((x, i) => x - (lr / bc1) * m[i]! / (Math.sqrt(v[i]!) / Math.sqrt(bc2) + eps));
    adam.zeroGrad();
  }
  assertClose(await param.read(), w, 'adam weights', 1e-6, 1e-5);
});

test('optimizer state survives save and load', async () => {
  const backend = await gpu();
  const param = Tensor.parameter(backend, [1, 2, 3], [3], 'p');
  const adam = new Adam([param], { lr: 0.1 });
  param.grad = Tensor.from(backend, [0.5, -1, 2], [3]);
  adam.step();
  const saved = await adam.save();
  assert.deepEqual(saved.steps, [1]);
  const restored = new Adam([param], { lr: 0.1 });
  restored.load(saved);
  const again = await restored.save();
  assert.deepEqual(again.steps, [1]);
  assertClose(again.buffers[0]![1]!, saved.buffers[0]![1]!, 'second moment');
});

test('global gradient-norm clipping scales every gradient only above the limit', async () => {
  const backend = await gpu();
  const a = Tensor.parameter(backend, [0, 0, 0], [3], 'a');
  const b = Tensor.parameter(backend, new Float32Array(5000), [5000], 'b');
  const untouched = Tensor.parameter(backend, [0], [1], 'unused');
  const ga = randn(3).map((x) => 10 * x);
  const gb = randn(5000);
  a.grad = Tensor.from(backend, Float32Array.from(ga), [3]);
  b.grad = Tensor.from(backend, Float32Array.from(gb), [5000]);
  const norm = Math.sqrt([...ga, ...gb].reduce((s, x) => s + x * x, 0));
  const result = clipGradNorm([a, b, untouched], 5)!;
  const [gotNorm, coef] = await result.read();
  assertClose([gotNorm!], [norm], 'total norm', 1e-4, 1e-5);
  assertClose([coef!], [5 / (norm + 1e-6)], 'clip coefficient', 1e-7, 1e-5);
  assertClose(await a.grad.read(), ga.map((x) => x * coef!), 'clipped a');
  result.release();
  const small = clipGradNorm([a], 1e6)!;
  assert.equal((await small.read())[1], 1, 'no clipping below the limit');
});
