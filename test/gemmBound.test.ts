// The bench's GEMM floor under per-op rows PyTorch wins: the GEMM work counted without computing,
// and the verdict each line gives.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { boundLine, opGemmFlops } from '../bench/gemmBound.ts';

test("an op's GEMM work is its pointwise convolutions: 2·C·C per pixel, one GEMM forward and two backward each", async () => {
  const N = 4, C = 16;
  // SepConv: two pointwise convs, both on the output's pixels (the first depthwise conv strides).
  for (const [stride, side] of [[1, 8], [2, 4]] as const) {
    const perConv = 2 * C * C * N * side * side;
    const work = await opGemmFlops('sep_conv_3x3', { N, C, H: 8, W: 8 }, stride);
    assert.deepEqual(work, { fwd: 2 * perConv, fwdBwd: 6 * perConv });
  }
  // DilConv: one; pooling: none.
  const dil = await opGemmFlops('dil_conv_5x5', { N, C, H: 8, W: 8 }, 1);
  assert.deepEqual(dil, { fwd: 2 * C * C * N * 64, fwdBwd: 6 * C * C * N * 64 });
  assert.deepEqual(await opGemmFlops('max_pool_3x3', { N, C, H: 8, W: 8 }, 1), { fwd: 0, fwdBwd: 0 });
});

test('a row is GEMM-bound where PyTorch takes no longer than our GEMMs alone at our peak', () => {
  // 100 MFLOP at 50 GFLOP/s: 2 ms.
  const bound = boundLine({ name: 'op', oursMs: 3, peerMs: 1.9, gemmFlops: 100e6 }, 50);
  assert.match(bound, /pytorch 1\.90 ms, ours 3\.00 ms; our GEMMs 100 MFLOP = 2\.00 ms at peak \(GEMM-bound/);
  const open = boundLine({ name: 'op', oursMs: 3, peerMs: 2.5, gemmFlops: 100e6 }, 50);
  assert.match(open, /\(1\.00 ms outside our GEMMs, 0\.50 ms there would tie\)/);
});
