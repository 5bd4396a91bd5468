// shaders/matmul.wgsl: batched strided GEMM, C[b, m, n] (+)= Σ_k A(b, m, k)·B(b, k, n), with
// k = ko·KI + ki running over two strided axes. Blocked for the caches: for each block of KC
// reduction steps, each 8-column panel of B (read in place when its rows are contiguous, packed
// otherwise) meets every 4-row strip of A in the 4×8 register tile (tile.h).
#include "tile.h"

typedef struct {
  u32 M, N, KI, KO;
  u32 a_b, a_m, a_ki, a_ko;
  u32 b_b, b_k, b_n, b_ko;
  u32 c_b, c_m, accumulate, pad0;
} Params;

// A work item is one block of C: MB rows × NB columns of one batch entry.
#define MB 64
#define NB 256

// Packs a panel of B stored by columns (b_k = 1, as the weight gradients' x): column j < nr of
// the panel is the kc contiguous floats at B + j·ldb, zero past nr. Four k of the eight columns
// are transposed in registers at a time: the scalar gather, one float per k and column, cost
// about as much as the arithmetic when M is small.
static void pack_transposed(u32 kc, const float *B, u32 ldb, u32 nr, float *panel) {
  const float *col[TILE_N];
  for (u32 j = 0; j < TILE_N; j++) col[j] = B + (j < nr ? j : 0) * ldb;
  f4 zero = wasm_f32x4_splat(0);
  u32 k = 0;
  for (; k + 4 <= kc; k += 4) {
    for (u32 half = 0; half < 2; half++) {
      f4 r[4];
      for (u32 j = 0; j < 4; j++) r[j] = half * 4 + j < nr ? wasm_v128_load(col[half * 4 + j] + k) : zero;
      f4 t0 = wasm_i32x4_shuffle(r[0], r[1], 0, 4, 1, 5), t1 = wasm_i32x4_shuffle(r[0], r[1], 2, 6, 3, 7);
      f4 t2 = wasm_i32x4_shuffle(r[2], r[3], 0, 4, 1, 5), t3 = wasm_i32x4_shuffle(r[2], r[3], 2, 6, 3, 7);
      float *out = panel + k * TILE_N + half * 4;
      wasm_v128_store(out, wasm_i32x4_shuffle(t0, t2, 0, 1, 4, 5));
      wasm_v128_store(out + TILE_N, wasm_i32x4_shuffle(t0, t2, 2, 3, 6, 7));
      wasm_v128_store(out + 2 * TILE_N, wasm_i32x4_shuffle(t1, t3, 0, 1, 4, 5));
      wasm_v128_store(out + 3 * TILE_N, wasm_i32x4_shuffle(t1, t3, 2, 3, 6, 7));
    }
  }
  for (; k < kc; k++) {
    for (u32 j = 0; j < TILE_N; j++) panel[k * TILE_N + j] = j < nr ? col[j][k] : 0.0f;
  }
}

static void gemm_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  u32 mblocks = ceil_div_u(p->M, MB), nblocks = ceil_div_u(p->N, NB);
  i32 boff[KC], prow[KC];
  float panel[KC * TILE_N] __attribute__((aligned(16)));
  for (u32 item = lo; item < hi; item++) {
    u32 batch = item / (mblocks * nblocks), mb = item / nblocks % mblocks, nb = item % nblocks;
    u32 m0 = mb * MB, m1 = min_u(p->M, m0 + MB), n0 = nb * NB, n1 = min_u(p->N, n0 + NB);
    const float *A = c->io[0] + batch * p->a_b, *B = c->io[1] + batch * p->b_b;
    float *C = c->io[2] + batch * p->c_b;
    if (p->KI * p->KO == 0) {
      for (u32 m = m0; m < m1; m++) {
        for (u32 n = n0; n < n1; n++) C[m * p->c_m + n] = p->accumulate ? C[m * p->c_m + n] : 0.0f;
      }
      continue;
    }
    int first = 1;
    for (u32 ko = 0; ko < p->KO; ko++) {
      for (u32 k0 = 0; k0 < p->KI; k0 += KC) {
        u32 kc = min_u(KC, p->KI - k0);
        int add = !first || p->accumulate;
        first = 0;
        for (u32 k = 0; k < kc; k++) boff[k] = (i32)(ko * p->b_ko + (k0 + k) * p->b_k);
        packed_rows(kc, prow);
        for (u32 n = n0; n < n1; n += TILE_N) {
          u32 nr = min_u(TILE_N, n1 - n);
          const float *panelB = B + n * p->b_n;
          const i32 *rows = boff;
          if (p->b_k == 1 && p->b_n != 1) {
            pack_transposed(kc, panelB + boff[0], p->b_n, nr, panel);
            panelB = panel;
            rows = prow;
          } else if (p->b_n != 1 || nr < TILE_N) {
            for (u32 k = 0; k < kc; k++) {
              for (u32 j = 0; j < TILE_N; j++) panel[k * TILE_N + j] = j < nr ? panelB[boff[k] + j * p->b_n] : 0.0f;
            }
            panelB = panel;
            rows = prow;
          }
          for (u32 m = m0; m < m1; m += TILE_M) {
            const float *a = A + m * p->a_m + ko * p->a_ko + k0 * p->a_ki;
            tile(kc, a, p->a_m, p->a_ki, panelB, rows, C + m * p->c_m + n, p->c_m, min_u(TILE_M, m1 - m), nr, add);
          }
        }
      }
    }
  }
}

KERNEL(matmul, gemm) {
  const Params *p = PARAMS(Params);
  u32 items = c->threads[2] * ceil_div_u(p->M, MB) * ceil_div_u(p->N, NB);
  parallel_for(c, gemm_range, items, 2.0 * min_u(p->M, MB) * min_u(p->N, NB) * p->KI * p->KO);
}
