// Runs one per-op golden case (kinds primitives, blocks, mixedop): forward, then the backward
// of sum(y ⊙ upstream), and returns every tensor the case stores, keyed as in the file.
import { Tape, Tensor, type Backend } from '../../runtime/index.ts';
import { f32, type GoldenTensor } from './goldenFile.ts';

export interface OpCase {
  name: string;
  op?: string;
  inputs: Record<string, GoldenTensor>;
  weights: Record<string, GoldenTensor>;
  upstream: GoldenTensor;
  outputs: Record<string, GoldenTensor>;
  grads: Record<string, GoldenTensor>;
  [field: string]: unknown;
}

/** What a forward builder sees: the case, and its inputs and weights as differentiable tensors. */
export interface CaseTensors {
  c: OpCase;
  backend: Backend;
  input(name: string): Tensor;
  weight(name: string): Tensor;
}

/** Returns the tensors named like the case's `outputs`; the first one receives `upstream`. */
export type ForwardBuilder = (t: CaseTensors) => Record<string, Tensor>;

export async function runOpCase(backend: Backend, c: OpCase, forward: ForwardBuilder): Promise<Map<string, Float32Array>> {
  const tape = new Tape();
  const leaves = new Map<string, Tensor>();
  const leaf = (kind: 'inputs' | 'weights', name: string): Tensor => {
    const key = `${kind}.${name}`;
    let t = leaves.get(key);
    if (t) return t;
    const g = c[kind][name];
    if (!g) throw new Error(`case ${c.name} has no ${kind.slice(0, -1)} '${name}'`);
    t = Tensor.parameter(backend, f32(g), g.shape, name);
    leaves.set(key, t);
    return t;
  };
  const results = new Map<string, Float32Array>();
  try {
    const outputs = tape.run(() => forward({ c, backend, input: (n) => leaf('inputs', n), weight: (n) => leaf('weights', n) }));
    const [first] = Object.keys(c.outputs);
    for (const [name, t] of Object.entries(outputs)) results.set(`outputs.${name}`, await t.read());
    const seed = tape.run(() => Tensor.from(backend, f32(c.upstream), c.upstream.shape, 'upstream'));
    tape.backward(outputs[first!]!, seed);
    for (const [key, t] of leaves) {
      const name = key.slice(key.indexOf('.') + 1);
      if (t.grad) results.set(`grads.${name}`, await t.grad.read());
    }
    return results;
  } finally {
    tape.dispose();
    for (const t of leaves.values()) {
      t.grad?.release();
      t.release();
    }
  }
}
