// Every DARTS primitive, as the search network builds it (modules with their own weights), against
// float64 finite differences of the CPU reference at random odd and non-square shapes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Tape, Tensor } from '../runtime/index.ts';
import { Rng } from '../runtime/rng.ts';
import { buildOperation } from '../src/nn/operations.ts';
import { PRIMITIVES } from '../src/search/space.ts';
import * as ref from './ref/ops64.ts';
import { mulberry32, random, type T64 } from './ref/tensor64.ts';
import { assertClose, gpu } from './helpers/gpu.ts';

const rng = mulberry32(99);

// FactorizedReduce (skip_connect at stride 2) needs even sizes, as in the reference.
const SHAPES: [number, number, number, number, number][] = [
  [2, 3, 5, 7, 1], [3, 2, 6, 4, 2], [2, 3, 7, 5, 2],
];

for (const op of PRIMITIVES) {
  for (const [N, C, H, W, stride] of SHAPES) {
    if (op === 'skip_connect' && stride === 2 && (H % 2 || W % 2)) continue;
    test(`${op} N${N} C${C} ${H}×${W} stride ${stride}: forward and backward vs float64 finite differences`, async () => {
      const backend = await gpu();
      const module = buildOperation(op, { backend, rng: new Rng(3), affine: false }, C, stride, true);
      const params = module.namedParameters();
      const weights: Record<string, T64> = {};
      for (const [name, t] of params) weights[name] = { shape: [...t.shape], data: Float64Array.from(await t.read()) };
      const x = random([N, C, H, W], rng);
      x.data = Float64Array.from(Float32Array.from(x.data));
      const f = (inputs: T64[]) => ref.primitive(op, inputs[0]!, Object.fromEntries(params.map(([n], i) => [n, inputs[i + 1]!])), stride);
      const want = f([x, ...params.map(([n]) => weights[n]!)]);
      const upstream = random(want.shape, rng);

      const tape = new Tape();
      const xt = Tensor.parameter(backend, Float32Array.from(x.data), x.shape, 'x');
      const y = tape.run(() => module.forward(xt));
      assert.deepEqual([...y.shape], want.shape);
      assertClose(await y.read(), want.data, `${op} forward`);
      tape.backward(y, tape.run(() => Tensor.from(backend, Float32Array.from(upstream.data), upstream.shape)));
      const numeric = ref.numericalVjp(f, [x, ...params.map(([n]) => weights[n]!)], upstream);
      if (op === 'none') assert.equal(xt.grad, null, "'none' passes no gradient to its input");
      else assertClose(await xt.grad!.read(), numeric[0]!.data, `${op} d/dx`);
      for (let i = 0; i < params.length; i++) {
        const [name, t] = params[i]!;
        assertClose(await t.grad!.read(), numeric[i + 1]!.data, `${op} d/d${name}`);
      }
      tape.dispose();
      xt.release();
      module.release();
    });
  }
}
