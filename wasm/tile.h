// The register-blocked core shared by the GEMM and the dense convolutions: a 4×8 block of
// C (+)= Σ_k A(m, k)·B(k, n) held in eight f32x4 accumulators. A is read through strides (one
// splat per row and k); row k of B is 8 contiguous floats at B + boff[k], so the caller can point
// it at a matrix row, a packed panel, or a convolution's shifted input row without copying.
#pragma once
#include "kernels.h"

#define TILE_M 4
#define TILE_N 8
// Reduction steps per tile call: an A strip of 4 × KC floats and a B panel of KC × 8 stay in L1.
#define KC 256

// C = (add ? C : 0) + acc over the first mr rows and nr columns.
static inline void store_tile(f4 acc[TILE_M][2], float *C, u32 cm, u32 mr, u32 nr, int add) {
  for (u32 r = 0; r < mr; r++) {
    float *out = C + r * cm;
    if (nr == TILE_N) {
      f4 v0 = acc[r][0], v1 = acc[r][1];
      if (add) {
        v0 = wasm_f32x4_add(wasm_v128_load(out), v0);
        v1 = wasm_f32x4_add(wasm_v128_load(out + 4), v1);
      }
      wasm_v128_store(out, v0);
      wasm_v128_store(out + 4, v1);
    } else {
      float row[TILE_N];
      wasm_v128_store(row, acc[r][0]);
      wasm_v128_store(row + 4, acc[r][1]);
      for (u32 j = 0; j < nr; j++) out[j] = add ? out[j] + row[j] : row[j];
    }
  }
}

// C = (add ? C : 0) + A·B over the first mr rows and nr columns (mr ≤ 4, nr ≤ 8).
static inline void tile(u32 kc, const float *A, u32 am, u32 ak, const float *B, const i32 *boff,
                        float *C, u32 cm, u32 mr, u32 nr, int add) {
  // Rows past mr repeat the last one: valid loads whose results are not stored.
  const float *a0 = A, *a1 = A + (mr > 1 ? am : 0), *a2 = A + (mr > 2 ? 2 * am : 0), *a3 = A + (mr > 3 ? 3 * am : 0);
  f4 c00 = wasm_f32x4_splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  for (u32 k = 0; k < kc; k++) {
    const float *b = B + boff[k];
    f4 b0 = wasm_v128_load(b), b1 = wasm_v128_load(b + 4);
    u32 o = k * ak;
    f4 x = wasm_v128_load32_splat(a0 + o);
    c00 = madd(x, b0, c00);
    c01 = madd(x, b1, c01);
    x = wasm_v128_load32_splat(a1 + o);
    c10 = madd(x, b0, c10);
    c11 = madd(x, b1, c11);
    x = wasm_v128_load32_splat(a2 + o);
    c20 = madd(x, b0, c20);
    c21 = madd(x, b1, c21);
    x = wasm_v128_load32_splat(a3 + o);
    c30 = madd(x, b0, c30);
    c31 = madd(x, b1, c31);
  }
  f4 acc[TILE_M][2] = { { c00, c01 }, { c10, c11 }, { c20, c21 }, { c30, c31 } };
  store_tile(acc, C, cm, mr, nr, add);
}

// Offsets of the rows of a packed panel (row k at 8k).
static inline void packed_rows(u32 kc, i32 *rows) {
  for (u32 k = 0; k < kc; k++) rows[k] = (i32)(k * TILE_N);
}

// Copies rows B + boff[k] (nr ≤ 8 values each) into a zero-padded kc × 8 panel.
static inline void pack_panel(u32 kc, const float *B, const i32 *boff, u32 nr, float *panel) {
  for (u32 k = 0; k < kc; k++) {
    const float *b = B + boff[k];
    for (u32 j = 0; j < TILE_N; j++) panel[k * TILE_N + j] = j < nr ? b[j] : 0.0f;
  }
}
