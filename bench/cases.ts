// What one benchmark run of an operation does, forward and forward+backward, in our engine and in TF.js.
// Each side times its own native layout (ours NCHW, TF.js NHWC) from a ready input to finished work.
import type * as Tfjs from '@tensorflow/tfjs';
import { Tape, Tensor, type Backend, type MemoryStats } from '../runtime/index.ts';
import { Rng } from '../runtime/rng.ts';
import { buildOperation } from '../src/nn/operations.ts';
import type { OpName } from '../src/search/space.ts';
import type { TorchPeer } from './torchPeer.ts';
import { tfOperation, type Tf } from './tfjsOps.ts';

export interface Shape {
  N: number;
  C: number;
  H: number;
  W: number;
}

export type Mode = 'fwd' | 'fwdBwd';

export interface Case {
  /** Makes this case's backend current (outside the clock). */
  activate(): Promise<void>;
  /** One run, resolved when the work is done on the device; a peer in another process answers with the milliseconds it measured itself. */
  step(): Promise<number | void>;
}

export interface CaseSet {
  impl: string;
  /** [forward, forward+backward] */
  cases: [Case, Case];
  release(): void | Promise<void>;
}

// Every primitive keeps C and maps H to ceil(H / stride): pads keep the size, Zero subsamples.
const outSize = (n: number, stride: number) => Math.ceil(n / stride);

/** Our engine on one backend (WebGPU or WebAssembly): the same ops, tape and kernels' names either way. */
export function ourCases(backend: Backend & { trim?(): void }, impl: string, op: OpName, { N, C, H, W }: Shape, stride: number): CaseSet & { memory(): Promise<MemoryStats> } {
  const rng = new Rng(1);
  const normal = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
  const operation = buildOperation(op, { backend, rng, affine: false }, C, stride, true);
  const x = Tensor.from(backend, normal(N * C * H * W), [N, C, H, W], 'x');
  const outShape = [N, C, outSize(H, stride), outSize(W, stride)];
  const upstream = Tensor.from(backend, normal(N * C * outShape[2]! * outShape[3]!), outShape, 'upstream');
  // In the network an op's input is an activation, not a parameter: its gradient stays on the tape
  // (kept with `retain`), as tf.grads returns it, instead of being copied into a .grad buffer. A node
  // from a one-value source makes the tape see x so.
  const source = Tensor.parameter(backend, [0], [1], 'source');
  const asActivation = () => Tape.record('input', [source], [x], () => [null]);

  const run = async (backward: boolean): Promise<Tape> => {
    const tape = new Tape();
    tape.run(() => {
      if (!backward) return Tape.noGrad(() => operation.forward(x));
      asActivation();
      tape.backward(operation.forward(x), upstream, [x]);
    });
    await backend.sync();
    return tape;
  };
  // Weight gradients accumulate into .grad; dropping them keeps every run a first backward (a copy, not an add).
  const clean = (tape: Tape) => {
    tape.dispose();
    for (const p of operation.parameters()) {
      p.grad?.release();
      p.grad = null;
    }
  };
  const activate = async () => {};
  return {
    impl,
    cases: [
      { activate, step: async () => clean(await run(false)) },
      { activate, step: async () => clean(await run(true)) },
    ],
    async memory() {
      const tape = await run(true);
      const { liveBytes, liveBuffers } = backend.memory();
      clean(tape);
      return { liveBytes, liveBuffers, pooledBytes: backend.memory().pooledBytes };
    },
    release() {
      operation.release();
      for (const t of [x, upstream, source]) t.release();
      backend.trim?.();
    },
  };
}

/** One value of every output, summed: reading it back waits for all of their kernels. */
async function settle(tf: Tf, outputs: () => Tfjs.Tensor[]): Promise<void> {
  const probe = tf.tidy(() => outputs().map((t) => tf.slice(tf.reshape(t, [-1]), 0, 1)).reduce((a, b) => tf.add(a, b)));
  await probe.data();
  probe.dispose();
}

export async function tfCases(tf: Tf, impl: string, backendName: string, op: OpName, { N, C, H, W }: Shape, stride: number): Promise<CaseSet> {
  await tf.setBackend(backendName);
  const operation = tfOperation(tf, op, C, stride);
  const x = tf.randomNormal([N, H, W, C]) as Tfjs.Tensor4D;
  const upstream = tf.randomNormal([N, outSize(H, stride), outSize(W, stride), C]);
  const grads = tf.grads((...args: Tfjs.Tensor[]) => operation.forward(args[0] as Tfjs.Tensor4D, args.slice(1) as Tfjs.Tensor4D[]));
  // A tensor lives on the backend that made it; using it under another one moves it (and webgpu→cpu fails in Node).
  const activate = async () => {
    if (tf.getBackend() !== backendName) await tf.setBackend(backendName);
  };
  return {
    impl,
    cases: [
      { activate, step: () => settle(tf, () => [operation.forward(x, operation.weights)]) },
      { activate, step: () => settle(tf, () => grads([x, ...operation.weights], upstream)) },
    ],
    release() {
      tf.dispose([x, upstream, ...operation.weights]);
    },
  };
}

/** PyTorch CPU in its Python process (bench/torch_peer.py), NCHW as ours; its times are taken there. */
export async function torchCases(peer: TorchPeer, impl: string, op: OpName, { N, C, H, W }: Shape, stride: number): Promise<CaseSet> {
  const remote = await peer.prepare({ cmd: 'op', op, shape: [N, C, H, W], stride });
  const activate = async () => {};
  return {
    impl,
    cases: [
      { activate, step: () => remote.run('fwd') },
      { activate, step: () => remote.run('fwdBwd') },
    ],
    release: () => remote.release(),
  };
}
