// The workgroup-memory tiled variants of the GEMM and the depthwise convolution give the plain
// kernels' bits on both WebGPU implementations here (compatibility mode, default limits); the
// autotune times them at a run's shapes and keeps its choices per adapter; the profiler times every
// kernel by timestamp queries (SwiftShader) or on the CPU (OpenGL ES has none).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { conv2d, createWebGpuBackend, linear, matmul, Tape, Tensor, type DeviceOptions, type WebGpuBackend } from '../runtime/index.ts';
import { kernelChoiceStore } from '../runtime/nodeGpu.ts';
import { Rng } from '../runtime/rng.ts';

const ADAPTERS = ['swiftshader', 'llvmpipe'];
const COMPATIBILITY: DeviceOptions = { featureLevel: 'compatibility', limits: 'default' };
const opened: WebGpuBackend[] = [];
after(() => opened.forEach((b) => b.destroy()));

async function open(adapter: string): Promise<WebGpuBackend> {
  const backend = await createWebGpuBackend({ adapter, ...COMPATIBILITY });
  opened.push(backend);
  return backend;
}

const rng = new Rng(11);
const values = (n: number) => Float32Array.from({ length: n }, () => rng.normal());

/** What `run` reads back under each kernel mode, and which kernels the tiled run used. */
async function underModes(backend: WebGpuBackend, run: () => Promise<Float32Array>): Promise<{ plain: Float32Array; tiled: Float32Array; kernels: string[] }> {
  const out: Record<string, Float32Array> = {};
  let kernels: string[] = [];
  for (const mode of ['plain', 'tiled'] as const) {
    backend.variants.mode = mode;
    backend.startProfiling();
    out[mode] = await run();
    kernels = (await backend.stopProfiling()).map((t) => t.kernel);
  }
  backend.variants.mode = 'plain';
  return { plain: out.plain!, tiled: out.tiled!, kernels };
}

/** The op's output, read back. */
async function forward(op: () => Tensor): Promise<Float32Array> {
  const tape = new Tape();
  try {
    return await tape.run(op).read();
  } finally {
    tape.dispose();
  }
}

const sameBits = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

for (const adapter of ADAPTERS) {
  test(`${adapter}: tiled GEMMs (batched, strided, split over two k axes, accumulating) give the plain kernel's bits`, async () => {
    const backend = await open(adapter);
    for (const [M, K, N] of [[3, 5, 7], [33, 17, 65], [64, 100, 130], [1, 300, 1], [70, 16, 64]] as const) {
      const a = Tensor.from(backend, values(M * K), [M, K]);
      const b = Tensor.from(backend, values(N * K), [N, K]);
      const c = Tensor.from(backend, values(N * 3), [N, 3]);
      // linear reads its weight transposed, through the GEMM's strides.
      const r = await underModes(backend, () => forward(() => matmul(linear(a, b), c)));
      assert.ok(sameBits(r.plain, r.tiled), `matmul ${M}×${K}×${N}`);
      assert.ok(r.kernels.includes('matmul/gemm_tiled') && !r.kernels.includes('matmul/gemm'), r.kernels.join());
    }
    // Pointwise convolutions: batched GEMMs, and their weight gradient split over images and pixels.
    const x = Tensor.parameter(backend, values(4 * 6 * 9 * 11), [4, 6, 9, 11], 'x');
    const w = Tensor.parameter(backend, values(5 * 6), [5, 6, 1, 1], 'w');
    const upstream = Tensor.from(backend, values(4 * 5 * 9 * 11), [4, 5, 9, 11]);
    const grads = await underModes(backend, async () => {
      const tape = new Tape();
      tape.backward(tape.run(() => conv2d(x, w)), upstream);
      const g = [...(await x.grad!.read()), ...(await w.grad!.read())];
      tape.dispose();
      for (const p of [x, w]) {
        p.grad!.release();
        p.grad = null;
      }
      return Float32Array.from(g);
    });
    assert.ok(sameBits(grads.plain, grads.tiled), 'pointwise input and weight gradients');
  });

  test(`${adapter}: the tiled depthwise convolution gives the plain kernel's bits at every DARTS kernel, stride and dilation, with and without the fused ReLU`, async () => {
    const backend = await open(adapter);
    const cases = [[2, 3, 8, 8, 3, 1, 1], [2, 4, 9, 13, 5, 2, 1], [1, 3, 32, 32, 5, 1, 2], [2, 2, 17, 70, 3, 2, 2], [1, 16, 16, 16, 3, 1, 1], [1, 2, 5, 3, 5, 2, 2]] as const;
    for (const [i, [N, C, H, W, k, stride, dilation]] of cases.entries()) {
      const x = Tensor.from(backend, values(N * C * H * W), [N, C, H, W]);
      const w = Tensor.from(backend, values(C * k * k), [C, 1, k, k]);
      // Every other case reads x through ReLU (reluInput, as SepConv's and DilConv's first convolution does).
      const options = { stride, pad: ((k - 1) * dilation) / 2, dilation, groups: C, reluInput: i % 2 === 1 };
      const r = await underModes(backend, () => forward(() => conv2d(x, w, options)));
      const what = `depthwise ${k}×${k} stride ${stride} dilation ${dilation}${options.reluInput ? ' of relu(x)' : ''} at [${N}, ${C}, ${H}, ${W}]`;
      assert.ok(sameBits(r.plain, r.tiled), what);
      assert.ok(r.kernels.includes('conv/dw_forward_tiled'), r.kernels.join());
      if (options.reluInput) {
        const relu = Tensor.from(backend, (await x.read()).map((v) => Math.max(v, 0)), x.shape);
        const plainOfRelu = await forward(() => conv2d(relu, w, { ...options, reluInput: false }));
        assert.ok(sameBits(r.tiled, plainOfRelu), `${what}: the same as conv2d(relu(x))`);
      }
    }
    // A window larger than the tile's workgroup memory runs plain.
    const x = Tensor.from(backend, values(2 * 40 * 40), [1, 2, 40, 40]);
    const w = Tensor.from(backend, values(2 * 25), [2, 1, 5, 5]);
    const wide = await underModes(backend, () => forward(() => conv2d(x, w, { pad: 16, dilation: 8, stride: 2, groups: 2 })));
    assert.deepEqual(wide.kernels, ['conv/dw_forward']);
  });
}

test('the autotune times each variant at the shapes a run dispatches, keeps the faster, and a later run reads its choices', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sgas-kernels-'));
  const previous = process.env.SGAS_CACHE_DIR;
  process.env.SGAS_CACHE_DIR = dir;
  try {
    const inputs = [values(2 * 4 * 16 * 16), values(4 * 9), values(32)];
    const work = (backend: WebGpuBackend) => forward(() => {
      const [x, dw, pw] = inputs.map((v, i) => Tensor.from(backend, v, [[2, 4, 16, 16], [4, 1, 3, 3], [8, 4, 1, 1]][i]!));
      return conv2d(conv2d(x!, dw!, { pad: 1, groups: 4 }), pw!);
    });
    const first = await open('llvmpipe');
    const tuner = (await first.useKernels('tune'))!;
    const untuned = await work(first);
    assert.deepEqual(tuner.tuned.map((k) => k.kernel).sort(), ['conv/dw_forward', 'matmul/gemm']);
    for (const k of tuner.tuned) {
      assert.deepEqual(Object.keys(k.ms).sort(), ['plain', 'tiled'], `${k.shape}: both variants timed`);
      assert.equal(k.chosen, k.ms.tiled! < k.ms.plain! ? 'tiled' : 'plain');
    }
    assert.ok(sameBits(await work(first), untuned), 'the chosen kernels give the same bits');
    const stored = JSON.parse(readFileSync(join(dir, 'kernel-choices.json'), 'utf8'));
    assert.equal(Object.keys(stored).length, 1, 'one adapter');
    assert.deepEqual(Object.values(stored)[0], Object.fromEntries(tuner.tuned.map((k) => [k.shape, k.chosen])));

    const second = await open('llvmpipe');
    const again = (await second.useKernels('tune'))!;
    await work(second);
    assert.deepEqual(again.tuned.map((k) => [k.shape, k.chosen, Object.keys(k.ms).length]), tuner.tuned.map((k) => [k.shape, k.chosen, 0]), 'read, not timed');
    assert.equal(kernelChoiceStore().where, join(dir, 'kernel-choices.json'));
    // auto leaves a software adapter on the plain kernels.
    assert.equal(await (await open('swiftshader')).useKernels('auto'), null);
  } finally {
    if (previous === undefined) delete process.env.SGAS_CACHE_DIR;
    else process.env.SGAS_CACHE_DIR = previous;
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the profiler times every kernel, by timestamp queries on SwiftShader and on the CPU on OpenGL ES, and counts dispatches and submits', async () => {
  for (const [adapter, method] of [['swiftshader', 'timestamp-query'], ['llvmpipe', 'cpu']] as const) {
    const backend = await open(adapter);
    // Large enough that each kernel outlasts the noise of a submit's round trip on a busy machine.
    const a = Tensor.from(backend, values(160 * 160), [160, 160]);
    const x = Tensor.from(backend, values(2 * 8 * 64 * 64), [2, 8, 64, 64]);
    const w = Tensor.from(backend, values(72), [8, 1, 3, 3]);
    await backend.sync();
    const [dispatches, submits] = [backend.dispatches, backend.submits];
    assert.equal(backend.startProfiling(), method);
    const tape = new Tape();
    const y = tape.run(() => [matmul(a, a), matmul(a, a), conv2d(x, w, { pad: 1, groups: 8 })]);
    await Promise.all(y.map((t) => t.read()));
    tape.dispose();
    const times = await backend.stopProfiling();
    assert.deepEqual(times.map((t) => [t.kernel, t.calls]).sort(), [['conv/dw_forward', 1], ['matmul/gemm', 2]], adapter);
    assert.ok(times.every((t) => t.ms > 0 && t.ms < 10_000), JSON.stringify(times));
    assert.equal(backend.dispatches - dispatches, 3, 'profiling adds no dispatch to the count');
    assert.equal(backend.submits - submits, 3, 'one submit per read-back, the dispatches riding on the first');
  }
});
