// The ONNX exporter: every primitive and block, in evaluation mode, computes in ONNX Runtime what it
// computes on our kernels (random weights, random BatchNorm statistics, stride 1 and 2).
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createWasmBackend, Tensor, type Backend } from '../runtime/index.ts';
import type { Module } from '../runtime/module.ts';
import { OnnxGraph } from '../runtime/onnx/graph.ts';
import { encodeOnnxModel } from '../runtime/onnx/encode.ts';
import { Rng } from '../runtime/rng.ts';
import { buildOperation, FactorizedReduce, ReluConvBn, type Operation } from '../src/nn/operations.ts';
import { PRIMITIVES } from '../src/search/space.ts';
import { maxAbsDiff, runOnnx } from './helpers/onnx.ts';

const backendPromise = createWasmBackend({ threads: 1 });
after(async () => (await backendPromise).destroy());

/** Weights and BatchNorm statistics drawn at random, so every BatchNormalization input matters. */
function randomise(m: Module, rng: Rng): void {
  for (const [name, t] of [...m.namedParameters(), ...m.namedBuffers()]) {
    const values = Float32Array.from({ length: t.size }, () => rng.next());
    const [lo, hi] = name.endsWith('running_var') ? [0.5, 1.5] : name.endsWith('gamma') ? [0.5, 1.5] : [-0.5, 0.5];
    t.write(values.map((u) => lo + (hi - lo) * u));
  }
  m.setTraining(false);
}

async function compare(backend: Backend, op: Operation, shape: [number, number, number, number], rng: Rng): Promise<number> {
  randomise(op, rng);
  const input = Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => 2 * rng.next() - 1);
  const ours = await op.forward(Tensor.from(backend, input, shape)).read();
  const g = await OnnxGraph.of(op);
  const out = op.toOnnx(g, 'x');
  const model = encodeOnnxModel({
    graph: g, name: 'op', metadata: {},
    input: { name: 'x', shape }, output: { name: 'y', from: out },
  });
  return maxAbsDiff((await runOnnx(model, input, shape)).data, ours);
}

for (const stride of [1, 2]) {
  test(`every primitive at stride ${stride} computes in ONNX Runtime what it computes here`, async () => {
    const backend = await backendPromise;
    const rng = new Rng(stride);
    for (const name of PRIMITIVES.filter((p) => p !== 'none')) {
      const op = buildOperation(name, { backend, rng, affine: true }, 6, stride, false);
      const diff = await compare(backend, op, [2, 6, 8, 8], rng);
      assert.ok(diff < 1e-5, `${name} stride ${stride}: max |difference| ${diff}`);
      op.release();
    }
  });
}

test("the cell preprocessing blocks and the search network's pools with BatchNorm export too", async () => {
  const backend = await backendPromise;
  const rng = new Rng(3);
  const ctx = { backend, rng, affine: true };
  const blocks: [string, Operation][] = [
    ['ReluConvBn', new ReluConvBn(ctx, 6, 4)],
    ['FactorizedReduce', new FactorizedReduce(ctx, 6, 4)],
    ['max_pool_3x3 + BN', buildOperation('max_pool_3x3', { ...ctx, affine: false }, 6, 2, true)],
    ['avg_pool_3x3 + BN', buildOperation('avg_pool_3x3', { ...ctx, affine: false }, 6, 1, true)],
  ];
  for (const [what, op] of blocks) {
    const diff = await compare(backend, op, [3, 6, 6, 6], rng);
    assert.ok(diff < 1e-5, `${what}: max |difference| ${diff}`);
    op.release();
  }
  assert.throws(() => buildOperation('none', ctx, 6, 1, false).toOnnx(null as never, 'x'), /only exists in the search network/);
});
