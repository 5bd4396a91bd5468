// What one benchmark run of an operation does, forward and forward+backward, in our engine and in TF.js.
// Each side times its own native layout (ours NCHW, TF.js NHWC) from a ready input to finished work.
import type * as Tfjs from '@tensorflow/tfjs';
import type { Backend, MemoryStats } from '../runtime/index.ts';
import { opRuns, outSize, type Shape } from '../src/nn/opRuns.ts';
import type { OpName } from '../src/search/space.ts';
import type { TorchPeer } from './torchPeer.ts';
import { tfOperation, type Tf } from './tfjsOps.ts';

export type { Shape };

/** The batch and the DARTS CIFAR search shapes every per-op row runs at: a normal cell's, then each reduction's. */
export const N = 64;
export const SHAPES: Shape[] = [{ N, C: 16, H: 32, W: 32 }, { N, C: 32, H: 16, W: 16 }, { N, C: 64, H: 8, W: 8 }];
export const shapeName = (s: Shape) => `${s.C}x${s.H}x${s.W}`;

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

/** Our engine on one backend (WebGPU or WebAssembly): the same ops, tape and kernels' names either way. */
export function ourCases(backend: Backend & { trim?(): void }, impl: string, op: OpName, shape: Shape, stride: number): CaseSet & { memory(): Promise<MemoryStats> } {
  const runs = opRuns(backend, op, shape, stride);
  const activate = async () => {};
  return {
    impl,
    cases: [{ activate, step: runs.forward }, { activate, step: runs.forwardBackward }],
    memory: runs.memory,
    release: runs.release,
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
