// Runs one per-op golden case (kinds primitives, blocks, mixedop): forward, then the backward
// of sum(y ⊙ upstream), and returns every tensor the case stores, keyed as in the file.
import { Tape, Tensor, type Backend } from '../../runtime/index.ts';
import type { Module } from '../../runtime/module.ts';
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
  /** Overwrites a module's parameters with the case's weights `prefix + name` (all must exist). */
  load(module: Module, prefix?: string): void;
}

/**
 * Returns the tensors named like the case's `outputs`; the first one receives `upstream`, and
 * the gradients of the others (intermediates such as MixedOp's softmax weights) are reported too.
 */
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
  const modules: Module[] = [];
  const load = (module: Module, prefix = '') => {
    modules.push(module);
    for (const [name, t] of module.namedParameters()) {
      const g = c.weights[prefix + name];
      if (!g) throw new Error(`case ${c.name} has no weight '${prefix + name}'`);
      t.write(f32(g));
      leaves.set(`weights.${prefix + name}`, t);
    }
  };
  const results = new Map<string, Float32Array>();
  try {
    const outputs = tape.run(() => forward({ c, backend, input: (n) => leaf('inputs', n), weight: (n) => leaf('weights', n), load }));
    const [first] = Object.keys(c.outputs);
    for (const [name, t] of Object.entries(outputs)) results.set(`outputs.${name}`, await t.read());
    const seed = tape.run(() => Tensor.from(backend, f32(c.upstream), c.upstream.shape, 'upstream'));
    const others = Object.entries(outputs).filter(([name]) => name !== first);
    const otherGrads = tape.backward(outputs[first!]!, seed, others.map(([, t]) => t));
    for (let i = 0; i < others.length; i++) {
      const g = otherGrads[i];
      if (g) results.set(`grads.${others[i]![0]}`, await g.read());
    }
    for (const [key, t] of leaves) {
      const name = key.slice(key.indexOf('.') + 1);
      // An input the output does not depend on (the 'none' op) has a zero gradient.
      if (t.grad) results.set(`grads.${name}`, await t.grad.read());
      else if (key.startsWith('inputs.')) results.set(`grads.${name}`, new Float32Array(t.size));
    }
    return results;
  } finally {
    tape.dispose();
    for (const t of leaves.values()) {
      t.grad?.release();
      t.release();
    }
    for (const m of modules) m.release();
  }
}
