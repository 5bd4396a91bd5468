// shaders/layout.wgsl: channel concat, crop, and MixedOp's weighted sum of branches.
#include "kernels.h"

typedef struct { u32 total, inner, outer, offset; } BlockParams;
typedef struct { u32 total, height, width, out_height, out_width, top, left; } CropParams;
typedef struct { u32 total, first, count, accumulate; } SumParams;
typedef struct { u32 total, first, count, chunks; } SumGradParams;

// Items are x's per-image blocks: each is one contiguous copy.
static void concat_forward_range(const Call *c, u32 lo, u32 hi) {
  const BlockParams *p = PARAMS(BlockParams);
  for (u32 img = lo; img < hi; img++) {
    const float *src = c->io[0] + img * p->inner;
    float *dst = c->io[1] + img * p->outer + p->offset;
    u32 n = min_u(p->inner, p->total - img * p->inner);
    for (u32 i = 0; i < n; i++) dst[i] = src[i];
  }
}

static void concat_backward_range(const Call *c, u32 lo, u32 hi) {
  const BlockParams *p = PARAMS(BlockParams);
  for (u32 img = lo; img < hi; img++) {
    const float *src = c->io[0] + img * p->outer + p->offset;
    float *dst = c->io[1] + img * p->inner;
    u32 n = min_u(p->inner, p->total - img * p->inner);
    for (u32 i = 0; i < n; i++) dst[i] = src[i];
  }
}

KERNEL(layout, concat_forward) {
  const BlockParams *p = PARAMS(BlockParams);
  parallel_for(c, concat_forward_range, ceil_div_u(p->total, p->inner), p->inner);
}

KERNEL(layout, concat_backward) {
  const BlockParams *p = PARAMS(BlockParams);
  parallel_for(c, concat_backward_range, ceil_div_u(p->total, p->inner), p->inner);
}

// Items are output rows (plane, h).
static void crop_forward_range(const Call *c, u32 lo, u32 hi) {
  const CropParams *p = PARAMS(CropParams);
  for (u32 row = lo; row < hi; row++) {
    u32 plane = row / p->out_height, h = row % p->out_height + p->top;
    const float *src = c->io[0] + (plane * p->height + h) * p->width + p->left;
    float *dst = c->io[1] + row * p->out_width;
    for (u32 w = 0; w < p->out_width; w++) dst[w] = src[w];
  }
}

// Items are input rows; the cropped-away rows and columns get zero.
static void crop_backward_range(const Call *c, u32 lo, u32 hi) {
  const CropParams *p = PARAMS(CropParams);
  for (u32 row = lo; row < hi; row++) {
    u32 plane = row / p->height, h = row % p->height;
    float *dst = c->io[1] + row * p->width;
    if (h < p->top) {
      for (u32 w = 0; w < p->width; w++) dst[w] = 0.0f;
      continue;
    }
    const float *src = c->io[0] + (plane * p->out_height + h - p->top) * p->out_width - p->left;
    for (u32 w = 0; w < p->left; w++) dst[w] = 0.0f;
    for (u32 w = p->left; w < p->width; w++) dst[w] = src[w];
  }
}

KERNEL(layout, crop_forward) {
  const CropParams *p = PARAMS(CropParams);
  parallel_for(c, crop_forward_range, p->total / p->out_width, p->out_width);
}

KERNEL(layout, crop_backward) {
  const CropParams *p = PARAMS(CropParams);
  parallel_for(c, crop_backward_range, p->total / p->width, p->width);
}

// (w, b0..b5) → (out): Σ_k w[first + k]·b_k in branch order, added to out when accumulating.
static void weighted_sum_forward_range(const Call *c, u32 lo, u32 hi) {
  const SumParams *p = PARAMS(SumParams);
  const float *w = c->io[0] + p->first;
  float *out = c->io[7];
  u32 i = lo;
  // Four elements a vector, each still summing its branches in order, as the scalar tail does.
  for (; i + 4 <= hi; i += 4) {
    f4 acc = p->accumulate ? wasm_v128_load(out + i) : wasm_f32x4_splat(0);
    for (u32 k = 0; k < p->count; k++) acc = madd(wasm_f32x4_splat(w[k]), wasm_v128_load(c->io[1 + k] + i), acc);
    wasm_v128_store(out + i, acc);
  }
  for (; i < hi; i++) {
    float acc = p->accumulate ? out[i] : 0.0f;
    for (u32 k = 0; k < p->count; k++) acc += w[k] * c->io[1 + k][i];
    out[i] = acc;
  }
}

KERNEL(layout, weighted_sum_forward) { parallel_for(c, weighted_sum_forward_range, PARAMS(SumParams)->total, 2 * PARAMS(SumParams)->count); }

// (w, g) → (g_first … g_first+count−1): w[first + k]·g for each branch, a block of g at a time so
// that it is read from memory once for all of them.
static void weighted_sum_scale_range(const Call *c, u32 lo, u32 hi) {
  const SumParams *p = PARAMS(SumParams);
  const float *g = c->io[1], *w = c->io[0] + p->first;
  for (u32 i0 = lo; i0 < hi; i0 += 1024) {
    u32 i1 = min_u(hi, i0 + 1024);
    for (u32 k = 0; k < p->count; k++) {
      float *out = c->io[2 + k];
      f4 vw = wasm_f32x4_splat(w[k]);
      u32 i = i0;
      for (; i + 4 <= i1; i += 4) wasm_v128_store(out + i, wasm_f32x4_mul(vw, wasm_v128_load(g + i)));
      for (; i < i1; i++) out[i] = w[k] * g[i];
    }
  }
}

KERNEL(layout, weighted_sum_scale) { parallel_for(c, weighted_sum_scale_range, PARAMS(SumParams)->total, PARAMS(SumParams)->count); }

// (w, g, b_first, b_first+1) → (partials [branches, chunks], g_first, g_first+1). Chunk j of a dot
// product Σ g⊙b is the j-th contiguous block of the tensor (the WGSL's chunk j is i ≡ j (mod chunks),
// which suits a GPU's neighbouring invocations; both stages are ours, and a CPU thread wants
// contiguous blocks, the same ones its share of the forward wrote). Lanes fold in a fixed order, so a
// chunk's sum does not depend on the thread that takes it.
static void weighted_sum_backward_range(const Call *c, u32 lo, u32 hi) {
  const SumGradParams *p = PARAMS(SumGradParams);
  int pair = p->count > 1;
  const float *g = c->io[1], *b0 = c->io[2], *b1 = c->io[3];
  float w0 = c->io[0][p->first], w1 = c->io[0][p->first + (pair ? 1 : 0)];
  float *g0 = c->io[5], *g1 = c->io[6];
  float *dot0 = c->io[4] + p->first * p->chunks, *dot1 = dot0 + p->chunks;
  f4 vw0 = wasm_f32x4_splat(w0), vw1 = wasm_f32x4_splat(w1);
  for (u32 j = lo; j < hi; j++) {
    u32 i = part_start(p->total, p->chunks, j), end = part_start(p->total, p->chunks, j + 1);
    f4 s0 = wasm_f32x4_splat(0.0f), s1 = s0;
    float t0 = 0.0f, t1 = 0.0f;
    for (; i + 4 <= end; i += 4) {
      f4 gv = wasm_v128_load(g + i);
      s0 = madd(gv, wasm_v128_load(b0 + i), s0);
      wasm_v128_store(g0 + i, wasm_f32x4_mul(vw0, gv));
      if (pair) {
        s1 = madd(gv, wasm_v128_load(b1 + i), s1);
        wasm_v128_store(g1 + i, wasm_f32x4_mul(vw1, gv));
      }
    }
    for (; i < end; i++) {
      t0 += g[i] * b0[i];
      g0[i] = w0 * g[i];
      if (pair) {
        t1 += g[i] * b1[i];
        g1[i] = w1 * g[i];
      }
    }
    dot0[j] = hsum(s0) + t0;
    if (pair) dot1[j] = hsum(s1) + t1;
  }
}

KERNEL(layout, weighted_sum_backward) {
  const SumGradParams *p = PARAMS(SumGradParams);
  parallel_for(c, weighted_sum_backward_range, p->chunks, 4 * ceil_div_u(p->total, p->chunks));
}

// (partials [count, chunks]) → (dw [count]): each weight's chunks summed in order.
KERNEL(layout, weighted_sum_weight_grad) {
  const SumGradParams *p = PARAMS(SumGradParams);
  for (u32 k = 0; k < p->count; k++) {
    float acc = 0.0f;
    for (u32 j = 0; j < p->chunks; j++) acc += c->io[0][k * p->chunks + j];
    c->io[1][k] = acc;
  }
}
