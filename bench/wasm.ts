// WebAssembly against WebGPU (SwiftShader here) per op at N=64, C=16, 32×32, forward and
// forward+backward, then a whole search step of the tiny and cpu presets. Minimum of the runs.
//
//   node --import tsx --import ./scripts/wgsl-hook.mjs bench/wasm.ts [--backends wasm,webgpu] [--reps n] [--ops a,b] [--threads n]
import { parseArgs } from 'node:util';
import {
  batchNorm, conv2d, createBackend, createWasmBackend, Tape, Tensor, type Backend,
} from '../runtime/index.ts';
import { Rng } from '../runtime/rng.ts';
import { loadDataset } from '../src/data/load.ts';
import { buildOperation } from '../src/nn/operations.ts';
import { presetConfig } from '../src/search/config.ts';
import { prepareSearchData, Search } from '../src/search/search.ts';
import type { OpName } from '../src/search/space.ts';

const { values } = parseArgs({ options: { backends: { type: 'string', default: 'wasm,webgpu' }, reps: { type: 'string', default: '5' }, ops: { type: 'string' }, steps: { type: 'string', default: '3' }, threads: { type: 'string' } } });
const N = 64, C = 16, H = 32, W = 32;
const rng = new Rng(1);
const normal = (n: number) => Float32Array.from({ length: n }, () => rng.normal());

type Forward = (x: Tensor) => Tensor;
interface OpCase { name: string; make(backend: Backend): { forward: Forward; params: Tensor[]; release(): void }; stride?: number }

const weight = (backend: Backend, shape: number[]) => Tensor.parameter(backend, normal(shape.reduce((a, b) => a * b)).map((v) => v * 0.1), shape, 'w');
const part = (name: string, shape: number[], f: (x: Tensor, w: Tensor) => Tensor): OpCase => ({
  name, make: (b) => { const w = weight(b, shape); return { forward: (x) => f(x, w), params: [w], release: () => w.release() }; },
});
const primitive = (op: OpName, stride = 1): OpCase => ({
  name: stride === 1 ? op : `${op} (stride 2)`, stride,
  make: (b) => { const o = buildOperation(op, { backend: b, rng: new Rng(2), affine: false }, C, stride, true); return { forward: (x) => o.forward(x), params: o.parameters(), release: () => o.release() }; },
});

const CASES: OpCase[] = [
  part('depthwise 3×3', [C, 1, 3, 3], (x, w) => conv2d(x, w, { pad: 1, groups: C })),
  part('depthwise 5×5 dil 2', [C, 1, 5, 5], (x, w) => conv2d(x, w, { pad: 4, dilation: 2, groups: C })),
  part('1×1 conv', [C, C, 1, 1], (x, w) => conv2d(x, w)),
  part('3×3 conv', [C, C, 3, 3], (x, w) => conv2d(x, w, { pad: 1 })),
  { name: 'BN (training)', make: () => ({ forward: (x) => batchNorm(x, { training: true }), params: [], release() {} }) },
  ...(['sep_conv_3x3', 'sep_conv_5x5', 'dil_conv_3x3', 'dil_conv_5x5', 'max_pool_3x3', 'avg_pool_3x3'] as OpName[]).map((op) => primitive(op)),
  primitive('skip_connect', 2),
];

async function timeOp(backend: Backend, c: OpCase, reps: number): Promise<[number, number]> {
  const op = c.make(backend);
  const x = Tensor.parameter(backend, normal(N * C * H * W), [N, C, H, W], 'x');
  const run = async (backward: boolean) => {
    const tape = new Tape();
    const t = performance.now();
    tape.run(() => {
      const y = backward ? op.forward(x) : Tape.noGrad(() => op.forward(x));
      if (backward) tape.backward(y, Tensor.full(backend, y.shape, 1));
    });
    await backend.sync();
    const ms = performance.now() - t;
    tape.dispose();
    for (const p of [x, ...op.params]) { p.grad?.release(); p.grad = null; }
    return ms;
  };
  const best = [Infinity, Infinity] as [number, number];
  for (let r = 0; r < reps + 1; r++) {
    for (const mode of [0, 1] as const) {
      const ms = await run(mode === 1);
      if (r > 0) best[mode] = Math.min(best[mode], ms);
    }
  }
  op.release();
  x.release();
  return best;
}

/** Milliseconds per search step (Architect + weight step) of a preset, the minimum after the first. */
async function timeSearchStep(backend: Backend, preset: string, steps: number): Promise<number> {
  const train = loadDataset(undefined, 'train');
  const config = { ...presetConfig(preset), seed: 1 };
  const search = new Search(backend, config, prepareSearchData(train, config));
  const times: number[] = [];
  let last = performance.now();
  const stop = new Error('enough steps');
  try {
    await search.run({
      step: () => {
        const now = performance.now();
        times.push(now - last);
        last = now;
        if (times.length > steps) throw stop;
      },
    });
  } catch (e) {
    if (e !== stop) throw e;
  }
  search.release();
  return Math.min(...times.slice(1));
}

const backends = values.backends!.split(',') as ('wasm' | 'webgpu')[];
const reps = Number(values.reps);
const only = values.ops?.split(',');
const results: Record<string, Record<string, string>> = {};
for (const kind of backends) {
  const threads = values.threads ? Number(values.threads) : undefined;
  const backend = kind === 'wasm' ? await createWasmBackend({ threads }) : await createBackend({ backend: kind });
  for (const c of CASES.filter((c) => !only || only.some((o) => c.name.startsWith(o)))) {
    const [fwd, fwdBwd] = await timeOp(backend, c, kind === 'webgpu' ? Math.min(reps, 2) : reps);
    (results[c.name] ??= {})[kind] = `${fwd.toFixed(1)} / ${fwdBwd.toFixed(1)}`;
    console.error(`${kind} ${c.name}: ${fwd.toFixed(2)} / ${fwdBwd.toFixed(2)} ms`);
  }
  if (!only) {
    for (const preset of ['tiny', 'cpu']) {
      const ms = await timeSearchStep(backend, preset, Number(values.steps));
      (results[`search step, ${preset} preset`] ??= {})[kind] = ms.toFixed(0);
      console.error(`${kind} ${preset} search step: ${ms.toFixed(1)} ms`);
    }
  }
  (backend as Backend & { destroy(): void }).destroy();
}
console.log(`| op (N=${N}, C=${C}, ${H}×${W}), ms fwd / fwd+bwd | ${backends.join(' | ')} |`);
console.log(`|---|${backends.map(() => '---').join('|')}|`);
for (const [name, row] of Object.entries(results)) console.log(`| ${name} | ${backends.map((b) => row[b] ?? '–').join(' | ')} |`);
