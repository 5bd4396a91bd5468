// Depthwise convolutions four channels at a time, forward and both gradients, for the search
// space's kernels (3×3 and 5×5, dilation 1 or 2, stride 1 or 2) where the channel count is a
// multiple of four (every search and training network); conv.c's per-plane kernels take the rest.
// Four planes of one image are interleaved into one padded grid whose positions are vectors of the
// four channels' values; an output vector is then Σ_t w_t·grid[position + offset_t], w_t the four
// channels' weights of tap t, in tap order: for each output the sum conv.c's kernels compute, so the
// bits are the same. Against those kernels this needs no weight splats, no stride phases (a
// stride-2 output reads every other position), one accumulator per four outputs instead of eight
// per block, and so no spills in V8's code. Measured in one process at 1 thread against them over
// the search's shapes: forward 1.2–2.4×, forward and both gradients 1.04–1.5×, most on the small
// planes of the deep cells.
#include "conv.h"

static u32 round_up4(u32 v) { return (v + 3) / 4 * 4; }

// Padded grid of rows × cols positions, four floats each: every position some output reads,
// outputs computed four columns at a time (a row's last group may pass its end).
typedef struct {
  u32 rows, cols, size;
} Grid;

static Grid grid(u32 oh, u32 ow, u32 K, u32 D, u32 S) {
  Grid g;
  g.rows = (oh - 1) * S + (K - 1) * D + 1;
  g.cols = (round_up4(ow) - 1) * S + (K - 1) * D + 1;
  g.size = g.rows * g.cols * 4;
  return g;
}

// Four values of each of four planes (`plane` floats apart) → four positions of the grid.
static inline __attribute__((always_inline)) void interleave4(const float *x, u32 plane, const int relu_input, float *dst) {
  f4 a0 = wasm_v128_load(x), a1 = wasm_v128_load(x + plane), a2 = wasm_v128_load(x + 2 * plane), a3 = wasm_v128_load(x + 3 * plane);
  if (relu_input) {
    a0 = relu4(a0);
    a1 = relu4(a1);
    a2 = relu4(a2);
    a3 = relu4(a3);
  }
  transpose4(&a0, &a1, &a2, &a3);
  wasm_v128_store(dst, a0);
  wasm_v128_store(dst + 4, a1);
  wasm_v128_store(dst + 8, a2);
  wasm_v128_store(dst + 12, a3);
}

// Where four source planes sit in the grid: position (r, c) holds x[(r − row0)·xw + c − col0] of
// each plane for source rows < rows and columns < cols; other positions are padding, zeroed once
// per range of work items and never written.
typedef struct {
  u32 plane, xw, rows, cols;
  i32 row0, col0;
} Placement;

// The grid's rows [r0, r1) and columns [c0, c1) that hold source values; the rest is padding.
typedef struct {
  u32 r0, r1, c0, c1;
} Real;

static Real real_region(const Placement *s, const Grid *g) {
  Real r;
  r.r0 = (u32)max_i(0, s->row0);
  r.r1 = (u32)max_i((i32)r.r0, min_i((i32)g->rows, s->row0 + (i32)s->rows));
  r.c0 = (u32)max_i(0, s->col0);
  r.c1 = (u32)max_i((i32)r.c0, min_i((i32)g->cols, s->col0 + (i32)s->cols));
  return r;
}

// Copies four planes' real values into the grid, through ReLU where asked: vectors, and a row's
// last count mod 4 values as part of its last four, overlapping (the same values stored twice).
static inline __attribute__((always_inline)) void fill(const Placement *s, const Grid *g, const float *x, const int relu_input, float *Q) {
  i32 r0 = max_i(0, s->row0), r1 = min_i((i32)g->rows, s->row0 + (i32)s->rows);
  i32 c0 = max_i(0, s->col0), c1 = min_i((i32)g->cols, s->col0 + (i32)s->cols);
  if (r1 <= r0 || c1 <= c0) return;
  u32 count = (u32)(c1 - c0);
  for (i32 r = r0; r < r1; r++) {
    const float *src = x + (u32)(r - s->row0) * s->xw + (u32)(c0 - s->col0);
    float *dst = Q + ((u32)r * g->cols + (u32)c0) * 4;
    if (count < 4) {
      for (u32 j = 0; j < count; j++) {
        for (u32 k = 0; k < 4; k++) {
          float v = src[k * s->plane + j];
          dst[j * 4 + k] = relu_input ? relu(v) : v;
        }
      }
      continue;
    }
    u32 j = 0;
    for (; j + 4 <= count; j += 4) interleave4(src + j, s->plane, relu_input, dst + j * 4);
    if (j < count) interleave4(src + count - 4, s->plane, relu_input, dst + (count - 4) * 4);
  }
}

// One tap's four channel weights w times the grid at four output columns from s, added in.
static inline __attribute__((always_inline)) void tap(const float *w, const float *s, const u32 S, f4 *a0, f4 *a1, f4 *a2, f4 *a3) {
  f4 wt = wasm_v128_load(w);
  *a0 = madd(wt, wasm_v128_load(s), *a0);
  *a1 = madd(wt, wasm_v128_load(s + S * 4), *a1);
  *a2 = madd(wt, wasm_v128_load(s + 2 * S * 4), *a2);
  *a3 = madd(wt, wasm_v128_load(s + 3 * S * 4), *a3);
}

// Output columns j..j+3 of one row from the grid at its first tap (src), transposed to a[k] =
// channel k's four outputs. For 3×3 each tap row is unrolled; 5×5 rows stay loops, since with five
// weights and the inputs they meet live at once V8's code spills (measured 1.0–1.18× slower).
static inline __attribute__((always_inline)) void columns(const float *src, u32 rowstep, const float *W, u32 kh0, u32 kh1, u32 kw0, u32 kw1,
                                                          f4 *a, const u32 K, const u32 D, const u32 S) {
  f4 a0 = wasm_f32x4_splat(0), a1 = a0, a2 = a0, a3 = a0;
#pragma clang loop unroll(disable)
  for (u32 kh = kh0; kh < kh1; kh++) {
    const float *r = src + kh * rowstep, *w = W + kh * K * 4;
    if (K == 3) {
#pragma clang loop unroll(full)
      for (u32 kw = 0; kw < K; kw++) tap(w + kw * 4, r + kw * D * 4, S, &a0, &a1, &a2, &a3);
    } else {
#pragma clang loop unroll(disable)
      for (u32 kw = kw0; kw < kw1; kw++) tap(w + kw * 4, r + kw * D * 4, S, &a0, &a1, &a2, &a3);
    }
  }
  transpose4(&a0, &a1, &a2, &a3);
  a[0] = a0;
  a[1] = a1;
  a[2] = a2;
  a[3] = a3;
}

// The taps [*k0, *k1) of K taps D apart that read some real position in [real0, real1) for
// outputs whose first tap is at positions first..last; the other taps read padding only.
static inline void reaching(u32 first, u32 last, u32 real0, u32 real1, u32 K, u32 D, u32 *k0, u32 *k1) {
  *k0 = real0 > last ? ceil_div_u(real0 - last, D) : 0;
  *k1 = max_u(*k0, min_u(K, real1 > first ? ceil_div_u(real1 - first, D) : 0));
}

// Which output rows a grid row of taps feeds: the first of a pair, the second, or both.
enum { FIRST = 1, SECOND = 2, BOTH = 3 };

// A 5×5 kernel's taps along one grid row (from r) at four output columns, into the sums of a
// pair's first row (weights w1) and its second (w2), as `rows` says: each tap's four inputs are
// loaded once for both. A loop, not unrolled: V8 unrolls it with a branch between taps, which keeps
// it from loading every tap's inputs first (eight sums fed that way spill, measured 0.8× slower).
static inline __attribute__((always_inline)) void tap_row(const float *r, const float *w1, const float *w2, f4 *a1, f4 *a2, const u32 S,
                                                          const int rows) {
#pragma clang loop unroll(disable)
  for (u32 kw = 0; kw < 5; kw++) {
    const float *s = r + kw * 4;
    f4 x[4] = { wasm_v128_load(s), wasm_v128_load(s + S * 4), wasm_v128_load(s + 2 * S * 4), wasm_v128_load(s + 3 * S * 4) };
    if (rows & FIRST) {
      f4 w = wasm_v128_load(w1 + kw * 4);
      for (u32 v = 0; v < 4; v++) a1[v] = madd(w, x[v], a1[v]);
    }
    if (rows & SECOND) {
      f4 w = wasm_v128_load(w2 + kw * 4);
      for (u32 v = 0; v < 4; v++) a2[v] = madd(w, x[v], a2[v]);
    }
  }
}

// Output columns j..j+3 of rows i and i + 1 of a 5×5 kernel at dilation 1 (src: row i's first
// tap), transposed as columns() gives them: row i's tap rows [a0, a1), row i + 1's [b0, b1), and
// row i + 1's tap row kh reads the grid row of row i's kh + S. Each output's sum is in tap order,
// as in columns(), so the bits are the same; but eight sums are independent, where four alone wait
// on each other's latency, and each grid row is loaded once for both rows.
static inline __attribute__((always_inline)) void column_pair(const float *src, u32 rowstep, const float *W, u32 a0, u32 a1, u32 b0, u32 b1,
                                                              f4 *first, f4 *second, const u32 S) {
  f4 p[4], q[4];
  for (u32 v = 0; v < 4; v++) p[v] = q[v] = wasm_f32x4_splat(0);
  u32 lo = min_u(a0, b0 + S), hi = max_u(a1, b1 + S);
#pragma clang loop unroll(disable)
  for (u32 t = lo; t < hi; t++) {
    const float *r = src + t * rowstep;
    int in1 = t >= a0 && t < a1, in2 = t >= b0 + S && t < b1 + S;
    if (in1 && in2) tap_row(r, W + t * 5 * 4, W + (t - S) * 5 * 4, p, q, S, BOTH);
    else if (in1) tap_row(r, W + t * 5 * 4, W, p, q, S, FIRST);
    else if (in2) tap_row(r, W, W + (t - S) * 5 * 4, p, q, S, SECOND);
  }
  transpose4(&p[0], &p[1], &p[2], &p[3]);
  transpose4(&q[0], &q[1], &q[2], &q[3]);
  for (u32 k = 0; k < 4; k++) {
    first[k] = p[k];
    second[k] = q[k];
  }
}

// Four channels' outputs at columns j..j+3 of a row (fewer where the row ends) into out.
static inline __attribute__((always_inline)) void store_columns(float *out, u32 plane, u32 j, u32 ow, const f4 *a) {
  if (j + 4 <= ow) {
    for (u32 k = 0; k < 4; k++) wasm_v128_store(out + k * plane + j, a[k]);
  } else {
    for (u32 k = 0; k < 4; k++) store_lanes(out + k * plane + j, a[k], ow - j);
  }
}

// The tap rows [*kh0, *kh1) output row i computes: for 5×5 those that reach a real row.
static inline __attribute__((always_inline)) void row_taps(u32 i, const Real *real, u32 *kh0, u32 *kh1, const u32 K, const u32 D, const u32 S) {
  *kh0 = 0;
  *kh1 = K;
  if (K == 5) reaching(i * S, i * S, real->r0, real->r1, K, D, kh0, kh1);
}

// One output row i of four channels, four columns at a time, into out.
static inline __attribute__((always_inline)) void output_row(const float *Q, u32 cols, const Real *real, const float *W, float *out, u32 plane,
                                                             u32 i, u32 ow, const u32 K, const u32 D, const u32 S) {
  u32 kh0, kh1, kw0 = 0, kw1 = K;
  row_taps(i, real, &kh0, &kh1, K, D, S);
  for (u32 j = 0; j < ow; j += 4) {
    if (K == 5 && D == 2) reaching(j * S, (j + 3) * S, real->c0, real->c1, K, D, &kw0, &kw1);
    f4 a[4];
    columns(Q + (i * S * cols + j * S) * 4, D * cols * 4, W, kh0, kh1, kw0, kw1, a, K, D, S);
    store_columns(out, plane, j, ow, a);
  }
}

// Output rows i and i + 1 of a 5×5 kernel at dilation 1, by column_pair: measured 1.21–1.27× as
// fast as one row at a time (forward and stride-1 input gradient, 8×8 to 32×32). Only there: for
// 3×3 kernels, and at dilation 2 pairing rows i and i + 2, pairs measured 0.83–0.97×.
static inline __attribute__((always_inline)) void output_row_pair(const float *Q, u32 cols, const Real *real, const float *W, float *out,
                                                                  u32 plane, u32 ystride, u32 i, u32 ow, const u32 S) {
  u32 kh0, kh1, lh0, lh1;
  row_taps(i, real, &kh0, &kh1, 5, 1, S);
  row_taps(i + 1, real, &lh0, &lh1, 5, 1, S);
  for (u32 j = 0; j < ow; j += 4) {
    f4 a[4], b[4];
    column_pair(Q + (i * S * cols + j * S) * 4, cols * 4, W, kh0, kh1, lh0, lh1, a, b, S);
    store_columns(out, plane, j, ow, a);
    store_columns(out + ystride, plane, j, ow, b);
  }
}

// oh × ow outputs of four channels: y's rows ystride apart, its planes `plane` apart. 5×5 kernels
// skip the tap rows, and at dilation 2 the tap columns, that read only padding (on an 8×8 plane at
// dilation 2 half their products): those products are w·0 = ±0, and adding ±0 leaves a sum that
// starts at +0 bit for bit unchanged, as conv.c's stride-2 input gradient relies on. Measured in one
// process: 5×5 forward 1.03–1.38× faster; for 3×3 the skipping cost more than it saved (0.87–0.96×).
static inline __attribute__((always_inline)) void outputs(const float *Q, u32 cols, const Real *real, const float *W, float *y, u32 plane,
                                                          u32 ystride, u32 oh, u32 ow, const u32 K, const u32 D, const u32 S) {
  u32 i = 0;
  if (K == 5 && D == 1) {
    for (; i + 2 <= oh; i += 2) output_row_pair(Q, cols, real, W, y + i * ystride, plane, ystride, i, ow, S);
  }
  for (; i < oh; i++) output_row(Q, cols, real, W, y + i * ystride, plane, i, ow, K, D, S);
}

typedef void (*Outputs)(const float *Q, u32 cols, const Real *real, const float *W, float *y, u32 plane, u32 ystride, u32 oh, u32 ow);

#define OUTPUTS(K, D, S)                                                                                                          \
  static void outputs_##K##_##D##_##S(const float *Q, u32 cols, const Real *real, const float *W, float *y, u32 plane, u32 ystride, \
                                      u32 oh, u32 ow) {                                                                                \
    outputs(Q, cols, real, W, y, plane, ystride, oh, ow, K, D, S);                                                                    \
  }
DW_SHAPES(OUTPUTS)

// The kernel for a launch at the given stride, or NULL where this file does not take it.
static Outputs outputs_kernel(const Params *p, u32 stride) {
  if (p->ci % 4 || p->kh != p->kw || (p->kh != 3 && p->kh != 5) || p->dil > 2 || stride > 2) return 0;
  static const Outputs kernels[2][2][2] = {
    { { outputs_3_1_1, outputs_3_1_2 }, { outputs_3_2_1, outputs_3_2_2 } },
    { { outputs_5_1_1, outputs_5_1_2 }, { outputs_5_2_1, outputs_5_2_2 } },
  };
  return kernels[p->kh == 5][p->dil - 1][stride - 1];
}

// Every group's weights as vectors: W[(group·T + t)·4 + k] = w[4·group + k, tap t], or tap T−1−t
// where `flip` (the input gradient's kernel).
static void interleave_weights(const Params *p, const float *w, int flip, float *W) {
  u32 T = p->kh * p->kw;
  for (u32 c = 0; c < p->ci; c++) {
    for (u32 t = 0; t < T; t++) W[((c / 4) * T + t) * 4 + c % 4] = w[c * T + (flip ? T - 1 - t : t)];
  }
}

// (x, w) → y; items are (image, group of four channels).
static void forward_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  Outputs kernel = outputs_kernel(p, p->stride);
  Grid g = grid(p->oh, p->ow, p->kh, p->dil, p->stride);
  float Q[g.size] __attribute__((aligned(16)));
  zero(Q, g.size);
  u32 T = p->kh * p->kw, groups = p->ci / 4, in = p->h * p->w, out = p->oh * p->ow;
  float W[p->ci * T] __attribute__((aligned(16)));
  interleave_weights(p, c->io[1], 0, W);
  // Grid position r holds input row r + top − pad, real from row top on.
  Placement s = { in, p->w, p->h - p->top, p->w - p->left, (i32)p->pad, (i32)p->pad };
  Real real = real_region(&s, &g);
  for (u32 item = lo; item < hi; item++) {
    u32 first = item / groups * p->ci + item % groups * 4;
    const float *x = c->io[0] + first * in + p->top * p->w + p->left;
    if (p->relu_input) fill(&s, &g, x, 1, Q);
    else fill(&s, &g, x, 0, Q);
    kernel(Q, g.cols, &real, W + item % groups * T * 4, c->io[2] + first * out, out, p->ow, p->oh, p->ow);
  }
}

// (dy, w) → dx at stride 1: the flipped kernel over dy, as in conv.c's dw_backward_input_blocked.
// Output (i, j) is dx[top + i, left + j]; grid position (i, j) holds dy[i + pad − margin, j + pad −
// margin], margin = (K − 1)·d.
static void backward_input_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  Outputs kernel = outputs_kernel(p, 1);
  u32 rows = p->h - p->top, cols = p->w - p->left, margin = (p->kh - 1) * p->dil;
  Grid g = grid(rows, cols, p->kh, p->dil, 1);
  float Q[g.size] __attribute__((aligned(16)));
  zero(Q, g.size);
  u32 T = p->kh * p->kw, groups = p->ci / 4, in = p->h * p->w, out = p->oh * p->ow;
  float W[p->ci * T] __attribute__((aligned(16)));
  interleave_weights(p, c->io[WEIGHT], 1, W);
  i32 shift = (i32)margin - (i32)p->pad;
  Placement s = { out, p->ow, p->oh, p->ow, shift, shift };
  Real real = real_region(&s, &g);
  for (u32 item = lo; item < hi; item++) {
    u32 first = item / groups * p->ci + item % groups * 4;
    fill(&s, &g, c->io[DY] + first * out, 0, Q);
    float *dx = c->io[DX] + first * in;
    // The cropped-away border gets no gradient.
    if (p->top || p->left) zero(dx, 4 * in);
    kernel(Q, g.cols, &real, W + item % groups * T * 4, dx + p->top * p->w + p->left, in, p->w, rows, cols);
    if (p->relu_grad) relu_mask(dx, c->io[RELU_X] + first * in, 4 * in);
  }
}

// (dy, w) → dx at stride 2, uncropped, with the kernel's own padding: padded position r = ih + pad
// sums w[kh, kw]·dy[(r − kh·d) / 2, (q − kw·d) / 2] over the taps where both divide, in tap order,
// as conv.c's gather and its stride-2 kernel do (taps that reach past dy read the grid's zero
// margins, which leaves the bits unchanged). Eight dx columns of one row at a time: their even and
// their odd positions are each four consecutive dy positions for any one tap, so each parity is an
// accumulator a column of four channels, and the two are interleaved once transposed.
static inline __attribute__((always_inline)) void s2_input_row(const float *P, u32 pcols, const float *W, u32 r, float *dx, u32 plane,
                                                               u32 w, const u32 K, const u32 D, const u32 pad, const u32 M) {
  for (u32 iw0 = 0; iw0 < w; iw0 += 8) {
    // acc[e][v]: dx column iw0 + 2v + e, four channels.
    f4 acc[2][4];
    for (u32 e = 0; e < 2; e++) {
      for (u32 v = 0; v < 4; v++) acc[e][v] = wasm_f32x4_splat(0);
    }
#pragma clang loop unroll(disable)
    for (u32 kh = (D % 2) * (r % 2); kh < K; kh += 1 + D % 2) {
      i32 dyrow = (i32)r - (i32)(kh * D);
      if (dyrow % 2) break;
      const float *row = P + (u32)(dyrow / 2 + (i32)M) * pcols * 4, *wk = W + kh * K * 4;
#pragma clang loop unroll(full)
      for (u32 e = 0; e < 2; e++) {
#pragma clang loop unroll(full)
        for (u32 kw = 0; kw < K; kw++) {
          if ((pad + e + 2 * K - kw * D) % 2) continue;
          f4 wt = wasm_v128_load(wk + kw * 4);
          const float *src = row + ((i32)(iw0 + pad + e) - (i32)(kw * D)) / 2 * 4 + M * 4;
#pragma clang loop unroll(full)
          for (u32 v = 0; v < 4; v++) acc[e][v] = madd(wt, wasm_v128_load(src + v * 4), acc[e][v]);
        }
      }
    }
    // Channel k's eight columns in 16 shuffles (two transposes and an interleave took 24): pair the
    // parities, (even, odd) of channels 0 and 1 in lo[v], of 2 and 3 in hi[v], then take the halves.
    f4 lo[4], hi[4];
    for (u32 v = 0; v < 4; v++) {
      lo[v] = wasm_i32x4_shuffle(acc[0][v], acc[1][v], 0, 4, 1, 5);
      hi[v] = wasm_i32x4_shuffle(acc[0][v], acc[1][v], 2, 6, 3, 7);
    }
    f4 rows[4][2] = {
      { wasm_i32x4_shuffle(lo[0], lo[1], 0, 1, 4, 5), wasm_i32x4_shuffle(lo[2], lo[3], 0, 1, 4, 5) },
      { wasm_i32x4_shuffle(lo[0], lo[1], 2, 3, 6, 7), wasm_i32x4_shuffle(lo[2], lo[3], 2, 3, 6, 7) },
      { wasm_i32x4_shuffle(hi[0], hi[1], 0, 1, 4, 5), wasm_i32x4_shuffle(hi[2], hi[3], 0, 1, 4, 5) },
      { wasm_i32x4_shuffle(hi[0], hi[1], 2, 3, 6, 7), wasm_i32x4_shuffle(hi[2], hi[3], 2, 3, 6, 7) },
    };
    u32 left = w - iw0;
    for (u32 k = 0; k < 4; k++) {
      float *out = dx + k * plane + iw0;
      store_lanes(out, rows[k][0], left);
      if (left > 4) store_lanes(out + 4, rows[k][1], left - 4);
    }
  }
}

static inline __attribute__((always_inline)) void s2_input_plane(const float *P, u32 pcols, const float *W, float *dx, u32 plane, u32 h,
                                                                 u32 w, const u32 K, const u32 D) {
  const u32 pad = (K - 1) * D / 2, M = (pad + 1) / 2;
  for (u32 ih = 0; ih < h; ih++) s2_input_row(P, pcols, W, ih + pad, dx + ih * w, plane, w, K, D, pad, M);
}

typedef void (*S2Input)(const float *P, u32 pcols, const float *W, float *dx, u32 plane, u32 h, u32 w);
#define S2_INPUT(K, D)                                                                                \
  static void s2_input_##K##_##D(const float *P, u32 pcols, const float *W, float *dx, u32 plane, u32 h, u32 w) { \
    s2_input_plane(P, pcols, W, dx, plane, h, w, K, D);                                                \
  }
S2_INPUT(3, 1)
S2_INPUT(3, 2)
S2_INPUT(5, 1)
S2_INPUT(5, 2)

// dy's grid: position (a, b) holds dy[a − M, b − M], zero around it as far as the rows read.
static Grid s2_dy_grid(const Params *p, u32 *M) {
  u32 pad = p->pad, w8 = (p->w + 7) / 8 * 8;
  *M = (pad + 1) / 2;
  Grid g;
  g.rows = max_u((pad + p->h - 1) / 2, p->oh - 1) + *M + 1;
  g.cols = max_u((w8 - 8 + pad + 1) / 2 + 3, p->ow - 1) + *M + 1;
  g.size = g.rows * g.cols * 4;
  return g;
}

static void s2_input_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  static const S2Input kernels[2][2] = { { s2_input_3_1, s2_input_3_2 }, { s2_input_5_1, s2_input_5_2 } };
  S2Input kernel = kernels[p->kh == 5][p->dil - 1];
  u32 M;
  Grid g = s2_dy_grid(p, &M);
  float P[g.size] __attribute__((aligned(16)));
  zero(P, g.size);
  u32 T = p->kh * p->kw, groups = p->ci / 4, in = p->h * p->w, out = p->oh * p->ow;
  float W[p->ci * T] __attribute__((aligned(16)));
  interleave_weights(p, c->io[WEIGHT], 0, W);
  Placement s = { out, p->ow, p->oh, p->ow, (i32)M, (i32)M };
  for (u32 item = lo; item < hi; item++) {
    u32 first = item / groups * p->ci + item % groups * 4;
    fill(&s, &g, c->io[DY] + first * out, 0, P);
    float *dx = c->io[DX] + first * in;
    kernel(P, g.cols, W + item % groups * T * 4, dx, in, p->h, p->w);
    if (p->relu_grad) relu_mask(dx, c->io[RELU_X] + first * in, 4 * in);
  }
}

// Lanes l and l + L of one kernel row's K taps (D apart) over the rows: two lanes' passes in one
// loop, so 2K sums are independent chains, and the taps' offsets are constants, so each input
// vector is one load. Lane l + L reads most of lane l's inputs, one tap along: L = 1, or 2 at
// dilation 2 and stride 1 (there lanes l and l + 1 share none, and their 2K loads ran 0.83×).
static inline __attribute__((always_inline)) void lane_pair(const float *X, u32 xrow, const float *DY, u32 dyrow, u32 rows, u32 ow, f4 *first,
                                                            f4 *second, const u32 K, const u32 D, const u32 S, const u32 L) {
  f4 a0[5], a1[5];
  for (u32 k = 0; k < K; k++) a0[k] = a1[k] = wasm_f32x4_splat(0);
  for (u32 oh = 0; oh < rows; oh++) {
    const float *d = DY + oh * dyrow, *x = X + oh * S * xrow;
    for (u32 g = 0; g + 4 <= ow; g += 4) {
      f4 d0 = wasm_v128_load(d + g * 4), d1 = wasm_v128_load(d + (g + L) * 4);
      const float *at = x + g * S * 4;
#pragma clang loop unroll(full)
      for (u32 k = 0; k < K; k++) {
        a0[k] = madd(d0, wasm_v128_load(at + k * D * 4), a0[k]);
        a1[k] = madd(d1, wasm_v128_load(at + (L * S + k * D) * 4), a1[k]);
      }
    }
  }
  for (u32 k = 0; k < K; k++) {
    first[k] = a0[k];
    second[k] = a1[k];
  }
}

// The weight gradient's sums, the bits of conv.c's dw_tap_sums: there, per plane of a chunk and
// per tap, lane l of a vector sums the products at columns 4g + l (g < ow / 4) over the rows, in
// row order, a scalar sums the last ow mod 4 columns, and the plane adds (l0 + l1) + (l2 + l3) +
// tail to the tap's sum. Here each of those partial sums is a vector over four channels, built in
// the same order, one kernel row's taps and two lanes at a time. X is the grid at the rows' first
// tap, DY their dy.
static inline __attribute__((always_inline)) void all_tap_sums(const float *X, u32 xrow, const float *DY, u32 dyrow, u32 rows, u32 ow,
                                                               f4 *sums, const u32 K, const u32 D, const u32 S) {
#pragma clang loop unroll(disable)
  for (u32 kh = 0; kh < K; kh++) {
    const float *Xr = X + kh * D * xrow;
    f4 lane[4][5];
    const u32 L = D == 2 && S == 1 ? 2 : 1, next = 3 - L;
    lane_pair(Xr, xrow, DY, dyrow, rows, ow, lane[0], lane[L], K, D, S, L);
    lane_pair(Xr + next * S * 4, xrow, DY + next * 4, dyrow, rows, ow, lane[next], lane[3], K, D, S, L);
    f4 tail[5];
    for (u32 k = 0; k < K; k++) tail[k] = wasm_f32x4_splat(0);
    for (u32 oh = 0; oh < rows; oh++) {
      for (u32 j = ow / 4 * 4; j < ow; j++) {
        f4 dv = wasm_v128_load(DY + oh * dyrow + j * 4);
        const float *at = Xr + oh * S * xrow + j * S * 4;
        for (u32 k = 0; k < K; k++) tail[k] = wasm_f32x4_add(tail[k], wasm_f32x4_mul(dv, wasm_v128_load(at + k * D * 4)));
      }
    }
    f4 *row = sums + kh * K;
    for (u32 k = 0; k < K; k++) {
      f4 plane = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_add(lane[0][k], lane[1][k]), wasm_f32x4_add(lane[2][k], lane[3][k])), tail[k]);
      row[k] = wasm_f32x4_add(row[k], plane);
    }
  }
}

typedef void (*TapSums)(const float *X, u32 xrow, const float *DY, u32 dyrow, u32 rows, u32 ow, f4 *sums);

#define TAP_SUMS(K, D, S)                                                                                                  \
  static void tap_sums_##K##_##D##_##S(const float *X, u32 xrow, const float *DY, u32 dyrow, u32 rows, u32 ow, f4 *sums) { \
    all_tap_sums(X, xrow, DY, dyrow, rows, ow, sums, K, D, S);                                                             \
  }
DW_SHAPES(TAP_SUMS)

// (x, dy) → partial[chunk, c·KH·KW + tap]; items are (chunk, group of four channels).
static void backward_weight_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  Grid g = grid(p->oh, p->ow, p->kh, p->dil, p->stride);
  u32 dyrow = round_up4(p->ow) * 4;
  float Q[g.size] __attribute__((aligned(16)));
  float DY[p->oh * dyrow] __attribute__((aligned(16)));
  zero(Q, g.size);
  zero(DY, p->oh * dyrow);
  u32 T = p->kh * p->kw, groups = p->ci / 4, in = p->h * p->w, out = p->oh * p->ow;
  static const TapSums kernels[2][2][2] = {
    { { tap_sums_3_1_1, tap_sums_3_1_2 }, { tap_sums_3_2_1, tap_sums_3_2_2 } },
    { { tap_sums_5_1_1, tap_sums_5_1_2 }, { tap_sums_5_2_1, tap_sums_5_2_2 } },
  };
  TapSums kernel = kernels[p->kh == 5][p->dil - 1][p->stride - 1];
  Placement xs = { in, p->w, p->h - p->top, p->w - p->left, (i32)p->pad, (i32)p->pad };
  Grid dyg = { p->oh, round_up4(p->ow), p->oh * dyrow };
  Placement dys = { out, p->ow, p->oh, p->ow, 0, 0 };
  f4 sums[T];
  for (u32 item = lo; item < hi; item++) {
    u32 chunk = item / groups, ch = item % groups * 4, first, end;
    chunk_rows(p, chunk, &first, &end);
    for (u32 t = 0; t < T; t++) sums[t] = wasm_f32x4_splat(0);
    for (u32 row = first; row < end;) {
      u32 n = row / p->oh, stop = min_u(end, (n + 1) * p->oh), oh0 = row - n * p->oh;
      u32 plane = n * p->ci + ch;
      const float *x = c->io[0] + plane * in + p->top * p->w + p->left;
      if (p->relu_input) fill(&xs, &g, x, 1, Q);
      else fill(&xs, &g, x, 0, Q);
      fill(&dys, &dyg, c->io[1] + plane * out, 0, DY);
      const float *X = Q + oh0 * p->stride * g.cols * 4, *D = DY + oh0 * dyrow;
      kernel(X, g.cols * 4, D, dyrow, stop - row, p->ow, sums);
      row = stop;
    }
    float *partial = c->io[2] + chunk * p->ci * T + ch * T;
    for (u32 t = 0; t < T; t++) {
      float v[4] __attribute__((aligned(16)));
      wasm_v128_store(v, sums[t]);
      for (u32 k = 0; k < 4; k++) partial[k * T + t] = v[k];
    }
  }
}

// Scratch a range of work items keeps on its thread's 4 MiB stack, in floats: larger planes (over
// about 250×250) take conv.c's per-plane kernels, whose scratch is a quarter of this.
#define STACK_FLOATS (256 * 1024)

static int fits(const Params *p, u32 grids) { return grids + p->ci * p->kh * p->kw <= STACK_FLOATS; }

// The weight gradient on output rows WIDE_ROWS wide or more, and the stride-1 input gradient on
// such input rows, take conv.c's per-plane kernels: on 28- and 32-wide planes (where four planes of
// dy, dx and x and the grid are about 70 KB a work item, past L1) those measured faster inside whole
// ops and steps (Fashion-MNIST step 1.034×, CIFAR b16 1.022×, 16×32×32 sep and dil conv
// forward+backward 1.01–1.05× at 1 thread), though not alone; on 16-wide rows they did not (0.98–
// 1.01×). The forward and the stride-2 input gradient stay faster on wide rows.
#define WIDE_ROWS 28

int dw4_backward_weight(const Call *c) {
  const Params *p = PARAMS(Params);
  if (!outputs_kernel(p, p->stride) || p->ow >= WIDE_ROWS) return 0;
  if (!fits(p, grid(p->oh, p->ow, p->kh, p->dil, p->stride).size + p->oh * round_up4(p->ow) * 4)) return 0;
  parallel_for(c, backward_weight_range, p->chunks * p->ci / 4, 8.0 * p->chunk_rows * p->ow * p->kh * p->kw);
  return 1;
}

int dw4_forward(const Call *c) {
  const Params *p = PARAMS(Params);
  if (!outputs_kernel(p, p->stride) || !fits(p, grid(p->oh, p->ow, p->kh, p->dil, p->stride).size)) return 0;
  parallel_for(c, forward_range, p->n * p->ci / 4, 8.0 * p->oh * p->ow * p->kh * p->kw);
  return 1;
}

int dw4_backward_input(const Call *c) {
  const Params *p = PARAMS(Params);
  u32 M;
  if (p->stride == 2 && outputs_kernel(p, 2) && !p->top && !p->left && p->pad == (p->kh - 1) * p->dil / 2 && fits(p, s2_dy_grid(p, &M).size)) {
    parallel_for(c, s2_input_range, p->n * p->ci / 4, 8.0 * p->oh * p->ow * p->kh * p->kw);
    return 1;
  }
  if (p->stride != 1 || p->w >= WIDE_ROWS || !outputs_kernel(p, 1) || !fits(p, grid(p->h - p->top, p->w - p->left, p->kh, p->dil, 1).size)) return 0;
  parallel_for(c, backward_input_range, p->n * p->ci / 4, 8.0 * p->oh * p->ow * p->kh * p->kw);
  return 1;
}
