// Sums and means: a fixed-order tree per row, so every run gives the same bits.
import { Tape } from '../tape.ts';
import { Tensor } from '../tensor.ts';
import { launch } from './launch.ts';

// Long vectors are first cut into rows of this many values, summed per row, then once more.
const CHUNK = 4096;
// Invocations per row: shaders/reduce.wgsl's workgroup.
const ROW_THREADS = 128;

/** Where a reduction writes its scalar: slot `at` of `into`, instead of a new [1] tensor. */
export interface Slot {
  into: Tensor;
  at: number;
}

/** s * sum(x) (or of x²), never recorded; a new [1] tensor unless a slot is given. */
export function sumRaw(x: Tensor, s = 1, square = false, slot?: Slot): Tensor {
  let input = x;
  let n = x.size;
  let sq = square;
  while (n > CHUNK) {
    const rows = Math.ceil(n / CHUNK);
    const partial = Tensor.empty(x.backend, [rows]);
    launch('reduce/sum_rows', [input], [partial], { u: [rows, CHUNK, sq ? 1 : 0, 0, n], f: [1], flops: (sq ? 2 : 1) * n }, [rows * ROW_THREADS]);
    if (input !== x) input.release();
    input = partial;
    n = rows;
    sq = false;
  }
  return sumRows(input, 1, n, s, sq, input !== x, slot);
}

function sumRows(x: Tensor, rows: number, cols: number, s: number, square: boolean, releaseInput: boolean, slot?: Slot): Tensor {
  const out = slot?.into ?? Tensor.empty(x.backend, [rows]);
  launch('reduce/sum_rows', [x], [out], { u: [rows, cols, square ? 1 : 0, slot?.at ?? 0, rows * cols], f: [s], flops: (square ? 2 : 1) * rows * cols }, [rows * ROW_THREADS]);
  if (releaseInput) x.release();
  return out;
}

function broadcastScalar(g: Tensor, like: Tensor, s: number): Tensor {
  // d(sum)/dx = g everywhere: fill with g's value without reading it back.
  const out = Tensor.empty(like.backend, like.shape);
  launch('reduce/broadcast_scalar', [g], [out], { u: [like.size, 0, 0, 0, 0], f: [s] }, [like.size]);
  return out;
}

export function sum(x: Tensor): Tensor {
  const out = sumRaw(x);
  Tape.record('sum', [x], [out], ([g]) => [broadcastScalar(g!, x, 1)], []);
  return out;
}

export function mean(x: Tensor): Tensor {
  const out = sumRaw(x, 1 / x.size);
  Tape.record('mean', [x], [out], ([g]) => [broadcastScalar(g!, x, 1 / x.size)], []);
  return out;
}

/** Column sums of a [rows, cols] matrix (bias gradients). */
export function sumColumns(x: Tensor, rows: number, cols: number): Tensor {
  const out = Tensor.empty(x.backend, [cols]);
  launch('reduce/sum_cols', [x], [out], { u: [rows, cols, 0, 0, 0], f: [1], flops: rows * cols }, [cols]);
  return out;
}
