// Checks a GPU op against the float64 CPU reference: forward values, and the backward pass
// (the vector-Jacobian product with a random upstream) against central finite differences.
import { Tape, type Tensor } from '../../runtime/index.ts';
import { numericalVjp } from '../ref/ops64.ts';
import { mulberry32, random, type T64 } from '../ref/tensor64.ts';
import { assertClose, param, toGpu, type gpu } from './gpu.ts';

type Backend = Awaited<ReturnType<typeof gpu>>;

export interface GradCheck {
  name: string;
  gpuOp: (inputs: Tensor[]) => Tensor;
  refOp: (inputs: T64[]) => T64;
  inputs: T64[];
  /** Which inputs get a gradient (default: all). */
  differentiable?: boolean[];
  atol?: number;
  rtol?: number;
  seed?: number;
}

export async function gradCheck(backend: Backend, c: GradCheck): Promise<void> {
  const atol = c.atol ?? 1e-5;
  const rtol = c.rtol ?? 1e-4;
  const differentiable = c.differentiable ?? c.inputs.map(() => true);
  // The GPU sees float32 inputs; the reference gets exactly those values.
  const inputs = c.inputs.map((t) => ({ shape: t.shape, data: Float64Array.from(Float32Array.from(t.data)) }));
  const refOut = c.refOp(inputs);
  const upstream = random(refOut.shape, mulberry32(c.seed ?? 7));
  const tape = new Tape();
  const xs = inputs.map((t, i) => (differentiable[i] ? param(backend, t, `${c.name}.in${i}`) : toGpu(backend, t)));
  const y = tape.run(() => c.gpuOp(xs));
  assertClose(await y.read(), refOut.data, `${c.name} forward`, atol, rtol);
  tape.backward(y, tape.run(() => toGpu(backend, upstream)));
  const numeric = numericalVjp(c.refOp, inputs, upstream, 1e-6, differentiable.map((d) => (d ? undefined : [])));
  for (let i = 0; i < xs.length; i++) {
    if (!differentiable[i]) continue;
    const grad = xs[i]!.grad;
    if (!grad) throw new Error(`${c.name}: input ${i} received no gradient`);
    assertClose(await grad.read(), numeric[i]!.data, `${c.name} d/d(input ${i})`, atol, rtol);
  }
  tape.dispose();
  for (const x of xs) {
    x.grad?.release();
    x.release();
  }
}
