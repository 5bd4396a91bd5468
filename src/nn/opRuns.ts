// One search-space operation's forward, and forward+backward, as runs to repeat on a backend: what
// `npm run bench` and `sgas doctor` time. Each run starts from a ready input and ends when its work is
// done on the device.
import { Tape, Tensor, type Backend, type MemoryStats } from '../../runtime/index.ts';
import { Rng } from '../../runtime/rng.ts';
import type { OpName } from '../search/space.ts';
import { buildOperation } from './operations.ts';

export interface Shape {
  N: number;
  C: number;
  H: number;
  W: number;
}

export interface OpRuns {
  forward(): Promise<void>;
  forwardBackward(): Promise<void>;
  /** Held during a forward+backward (inputs, weights, activations, gradients), and pooled after it. */
  memory(): Promise<MemoryStats>;
  release(): void;
}

// Every primitive keeps C and maps H to ceil(H / stride): pads keep the size, Zero subsamples.
export const outSize = (n: number, stride: number) => Math.ceil(n / stride);

export function opRuns(backend: Backend & { trim?(): void }, op: OpName, { N, C, H, W }: Shape, stride: number): OpRuns {
  const rng = new Rng(1);
  const normal = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
  // The depthwise outputs kept for the backward, as a search's memory plan keeps them wherever its
  // step fits (every setting but the paper's b64): one op is far from any memory limit.
  const operation = buildOperation(op, { backend, rng, affine: false, memory: { keepInnerFromKernel: 0 } }, C, stride, true);
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
  return {
    forward: async () => clean(await run(false)),
    forwardBackward: async () => clean(await run(true)),
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
