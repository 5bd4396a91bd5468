// Where PyTorch beats us on a per-op row, whether a faster kernel of ours could change that: an op's
// GEMM work (its pointwise convolutions, counted on a backend that runs no kernels) at our measured
// GEMM peak is a floor under our time. With wasm's 128-bit SIMD that peak is about half of PyTorch's
// AVX-512 sgemm, so where PyTorch's whole op takes no longer than our GEMMs alone, no kernel outside
// the GEMM can close the gap; elsewhere the line says how much time outside the GEMMs is left to win.
import { CountingBackend } from '../runtime/countingBackend.ts';
import { opRuns, type Shape } from '../src/nn/opRuns.ts';
import type { OpName } from '../src/search/space.ts';

const GEMM = 'matmul/gemm';

export interface GemmWork {
  fwd: number;
  fwdBwd: number;
}

/** The floating-point work of an op's GEMM kernel calls, forward and forward+backward. */
export async function opGemmFlops(op: OpName, shape: Shape, stride: number): Promise<GemmWork> {
  const counter = new CountingBackend();
  const runs = opRuns(counter, op, shape, stride);
  const gemm = () => counter.flopsByKernel.get(GEMM) ?? 0;
  try {
    const start = gemm();
    await runs.forward();
    const fwd = gemm() - start;
    await runs.forwardBackward();
    return { fwd, fwdBwd: gemm() - start - fwd };
  } finally {
    runs.release();
  }
}

export interface BoundRow {
  /** How the row is named: op, shape, stride, mode. */
  name: string;
  oursMs: number;
  peerMs: number;
  gemmFlops: number;
}

/** One line for a row PyTorch wins: its time, ours, and our GEMMs' time at `peakGflops`. */
export function boundLine(r: BoundRow, peakGflops: number): string {
  const floorMs = r.gemmFlops / peakGflops / 1e6;
  const verdict = r.peerMs <= floorMs
    ? 'GEMM-bound: PyTorch takes no longer than our GEMMs alone'
    : `${(r.oursMs - floorMs).toFixed(2)} ms outside our GEMMs, ${(r.peerMs - floorMs).toFixed(2)} ms there would tie`;
  return `  ${r.name}: pytorch ${r.peerMs.toFixed(2)} ms, ours ${r.oursMs.toFixed(2)} ms; our GEMMs ${(r.gemmFlops / 1e6).toFixed(0)} MFLOP = ${floorMs.toFixed(2)} ms at peak (${verdict})`;
}
