// The machine's measured peak for this bench: a 1024³ single-precision GEMM on our wasm backend and in
// PyTorch (sgemm), at the same thread count, in alternating rounds; the best round of each counts.
import { createWasmBackend, matmulRaw, Tape, Tensor } from '../runtime/index.ts';
import { Rng } from '../runtime/rng.ts';
import type { TorchPeer } from './torchPeer.ts';

const SIDE = 1024;
const ROUNDS = 5;

export interface Peak {
  n: number;
  oursGflops: number;
  torchGflops?: number;
}

export async function measurePeak(threads: number | undefined, torch: TorchPeer | null): Promise<Peak> {
  const backend = await createWasmBackend({ threads });
  const rng = new Rng(1);
  const values = () => Float32Array.from({ length: SIDE * SIDE }, () => rng.normal());
  const [a, b] = Tape.outside(() => [Tensor.from(backend, values(), [SIDE, SIDE]), Tensor.from(backend, values(), [SIDE, SIDE])]);
  const flops = 2 * SIDE ** 3;
  let best = Infinity;
  let torchBest = 0;
  try {
    for (let round = 0; round <= ROUNDS; round++) {
      const start = performance.now();
      Tape.outside(() => matmulRaw(a!, b!)).release();
      await backend.sync();
      if (round > 0) best = Math.min(best, performance.now() - start);
      if (torch) torchBest = Math.max(torchBest, await torch.gemmGflops(SIDE));
    }
  } finally {
    a!.release();
    b!.release();
    backend.destroy();
  }
  return { n: SIDE, oursGflops: flops / best / 1e6, torchGflops: torch ? torchBest : undefined };
}
