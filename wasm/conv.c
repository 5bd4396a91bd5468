// shaders/conv.wgsl: depthwise and dense 2-D convolutions over NCHW, PyTorch's bias-free
// cross-correlation, on an input that may be cropped to x[:, :, top:, left:]:
//   y[n, o, oh, ow] = Σ w[o, i, kh, kw] · x[n, i, oh·s − pad + kh·d + top, ow·s − pad + kw·d + left]
// with x zero outside rows [top, H) and columns [left, W). Weight gradients are partial sums over
// chunks of `chunk_rows` (n, oh) rows, partial[chunk, weight], added in order by reduce/sum_cols.
//
// Every kernel works on padded planes: a plane copied once into zeroed scratch with its padding and
// crop applied, and its columns split by stride phase, so that any tap of any output row reads
// contiguous floats (output column ow through tap kw is phase (kw·d) mod s, index ow + ⌊kw·d / s⌋).
// Then inner loops are branch-free f32x4 arithmetic, and the dense kernels are GEMMs on the 4×8
// register tile (tile.h) whose B rows point straight into the padded planes. Dense 1×1 kernels,
// whose padded planes would be mostly padding, are handed to conv1x1.c.
#include "conv.h"

static u32 round_up(u32 v, u32 m) { return ceil_div_u(v, m) * m; }

// A padded plane: `rows` × `cols` padded positions (those some output reads), stored as `stride`
// phase planes of `rows` × `width` floats; width leaves room to read and write whole 8-float blocks
// from any position.
typedef struct {
  u32 rows, cols, width, phase, size;
} Padded;

static Padded padded(const Params *p) {
  Padded g;
  g.rows = (p->oh - 1) * p->stride + (p->kh - 1) * p->dil + 1;
  g.cols = (p->ow - 1) * p->stride + (p->kw - 1) * p->dil + 1;
  u32 reach = (p->kw - 1) * p->dil / p->stride + round_up(p->ow, TILE_N);
  g.width = round_up(max_u(round_up(ceil_div_u(g.cols, p->stride), TILE_N), reach) + TILE_N, 4);
  g.phase = g.rows * g.width;
  g.size = p->stride * g.phase;
  return g;
}

// Offset of tap (kh, kw) for output (0, 0); output row oh adds oh·s·width, column ow adds ow.
static void tap_offsets(const Params *p, const Padded *g, i32 *offsets) {
  for (u32 kh = 0; kh < p->kh; kh++) {
    for (u32 kw = 0; kw < p->kw; kw++) {
      u32 q = kw * p->dil;
      offsets[kh * p->kw + kw] = (i32)((q % p->stride) * g->phase + kh * p->dil * g->width + q / p->stride);
    }
  }
}

// Physical input row (or column) of padded position r, and whether it holds a real value.
static i32 physical(const Params *p, u32 r, u32 first) { return (i32)(r + first) - (i32)p->pad; }

// Padded columns of phase ph that hold real input columns: j in [*lo, *hi).
static void real_columns(const Params *p, const Padded *g, u32 ph, u32 *lo, u32 *hi) {
  // Padded column col = j·s + ph is input column col + left − pad, real in [left, W).
  u32 first = p->pad, last = min_u(g->cols, p->w - p->left + p->pad);
  *lo = first > ph ? ceil_div_u(first - ph, p->stride) : 0;
  *hi = last > ph ? ceil_div_u(last - ph, p->stride) : 0;
  if (*hi < *lo) *hi = *lo;
}

// A run of real input values on one padded row and phase: padded positions dst + j, j < count,
// hold input values src + j·stride. Every plane of a launch has the same runs, so they are found
// once per range of work items (the divisions would otherwise cost more than a small plane's
// arithmetic), and a scratch plane zeroed once keeps its padding zero while planes pass through it.
typedef struct {
  u32 dst, src, count;
} Run;

// The runs, at most rows · stride of them; returns how many.
static u32 real_runs(const Params *p, const Padded *g, Run *runs) {
  u32 n = 0;
  for (u32 r = 0; r < g->rows; r++) {
    i32 ih = physical(p, r, p->top);
    if (ih < (i32)p->top || ih >= (i32)p->h) continue;
    for (u32 ph = 0; ph < p->stride; ph++) {
      u32 lo, hi;
      real_columns(p, g, ph, &lo, &hi);
      if (lo == hi) continue;
      // Padded column lo·s + ph ≥ pad, so the input column is ≥ left.
      i32 src = ih * (i32)p->w + (i32)p->left - (i32)p->pad + (i32)(lo * p->stride + ph);
      runs[n++] = (Run){ ph * g->phase + r * g->width + lo, (u32)src, hi - lo };
    }
  }
  return n;
}

// dst[j] = src[j·stride] for j < count, through ReLU where asked. Vectors throughout, the last few
// values gathered into one: ReLU on a lone float becomes a branch in the JIT's code, which random
// signs mispredict.
static void copy_run(const float *src, u32 count, u32 stride, int relu_input, float *dst) {
  u32 j = 0;
  if (stride == 1) {
    for (; j + 4 <= count; j += 4) {
      f4 v = wasm_v128_load(src + j);
      wasm_v128_store(dst + j, relu_input ? relu4(v) : v);
    }
  } else if (stride == 2) {
    // The even lanes of 8 floats, while the odd one past them is still inside the run.
    for (; j + 4 < count; j += 4) {
      f4 v = wasm_i32x4_shuffle(wasm_v128_load(src + 2 * j), wasm_v128_load(src + 2 * j + 4), 0, 2, 4, 6);
      wasm_v128_store(dst + j, relu_input ? relu4(v) : v);
    }
  }
  for (; j < count; j += 4) {
    float part[4] __attribute__((aligned(16))) = { 0 };
    for (u32 i = 0; i < 4 && j + i < count; i++) part[i] = src[(j + i) * stride];
    f4 v = wasm_v128_load(part);
    store_lanes(dst + j, relu_input ? relu4(v) : v, count - j);
  }
}

// dst[j] = src[j] for j < count, through ReLU where asked: vectors, and for a count past a multiple
// of four the last four values again, overlapping (the same values stored twice); a row of under
// four values as copy_run gathers it.
static inline __attribute__((always_inline)) void copy_row(const float *src, u32 count, const int relu_input, float *dst) {
  if (count < 4) {
    copy_run(src, count, 1, relu_input, dst);
    return;
  }
  u32 j = 0;
  for (; j + 4 <= count; j += 4) {
    f4 v = wasm_v128_load(src + j);
    wasm_v128_store(dst + j, relu_input ? relu4(v) : v);
  }
  if (j < count) {
    f4 v = wasm_v128_load(src + count - 4);
    wasm_v128_store(dst + count - 4, relu_input ? relu4(v) : v);
  }
}

// copy_row over `rows` rows, src rows `src_stride` apart and dst rows `dst_stride` apart.
static inline __attribute__((always_inline)) void copy_rows(const float *src, u32 src_stride, u32 count, u32 rows, const int relu_input,
                                                            float *dst, u32 dst_stride) {
  for (u32 r = 0; r < rows; r++) copy_row(src + r * src_stride, count, relu_input, dst + r * dst_stride);
}

// Whether the runs of a stride-2 plane pair up into whole input rows: on each real row, in turn,
// the runs of its even and of its odd columns (one value fewer where the row is odd-sized), so that
// unpadding needs no zeroing and no scatter (unpad_pairs). Returns 0 where they do not, else 1 + the
// index in each pair of the even columns' run (the padding's parity sets which phase holds them).
static u32 whole_row_pairs(const Params *p, const Run *runs, u32 count) {
  if (p->stride != 2 || p->top || p->left || count != 2 * p->h) return 0;
  u32 even = runs[0].src % 2;
  for (u32 k = 0; k < count; k += 2) {
    const Run *e = runs + k + even, *o = runs + k + 1 - even;
    if (e->src != k / 2 * p->w || o->src != e->src + 1 || e->count != (p->w + 1) / 2 || o->count != p->w / 2) return 0;
  }
  return 1 + even;
}

// The four even and the four odd values of x[0..8), through ReLU where asked, stored at even[0..4)
// and odd[0..4).
static inline __attribute__((always_inline)) void split8(const float *x, const int relu_input, float *even, float *odd) {
  f4 a = wasm_v128_load(x), b = wasm_v128_load(x + 4);
  f4 e = wasm_i32x4_shuffle(a, b, 0, 2, 4, 6), o = wasm_i32x4_shuffle(a, b, 1, 3, 5, 7);
  wasm_v128_store(even, relu_input ? relu4(e) : e);
  wasm_v128_store(odd, relu_input ? relu4(o) : o);
}

// pad_plane for stride-2 planes whose runs pair up as whole_row_pairs says, on rows of w ≥ 8 input
// values: each row's even and odd columns split in registers, eight values a load, and a row's last
// w mod 8 values as part of its last eight, overlapping (the same values stored twice).
static inline __attribute__((always_inline)) void pad_pairs(const Run *runs, u32 count, u32 even_run, u32 w, const int relu_input,
                                                            const float *x, float *q) {
  for (u32 k = 0; k < count; k += 2) {
    float *even = q + runs[k + even_run].dst, *odd = q + runs[k + 1 - even_run].dst;
    const float *row = x + runs[k + even_run].src;
    u32 j = 0;
    for (; j + 8 <= w; j += 8) split8(row + j, relu_input, even + j / 2, odd + j / 2);
    if (j < w) {
      // Starting at an odd column, the first of the eight is odd.
      u32 last = w - 8;
      if (last % 2) split8(row + last, relu_input, odd + last / 2, even + last / 2 + 1);
      else split8(row + last, relu_input, even + last / 2, odd + last / 2);
    }
  }
}

// Copies one input plane's real values into a padded plane whose padding is already zero, through
// ReLU where the convolution takes relu(x). At stride 1 the runs are consecutive rows of one
// length, input rows w apart: copied as such, with no run to look up per row (on the small planes
// of reduction cells the lookups cost as much as the copying); at stride 2, rows whose runs pair up
// (`pairs`, whole_row_pairs's answer) are split into their phases whole.
static void pad_plane(const Params *p, const Run *runs, u32 count, u32 pairs, const float *x, float *q) {
  if (p->stride == 1 && count) {
    u32 dst_stride = count > 1 ? runs[1].dst - runs[0].dst : 0;
    if (p->relu_input) copy_rows(x + runs[0].src, p->w, runs[0].count, count, 1, q + runs[0].dst, dst_stride);
    else copy_rows(x + runs[0].src, p->w, runs[0].count, count, 0, q + runs[0].dst, dst_stride);
    return;
  }
  if (pairs && p->w >= 8) {
    if (p->relu_input) pad_pairs(runs, count, pairs - 1, p->w, 1, x, q);
    else pad_pairs(runs, count, pairs - 1, p->w, 0, x, q);
    return;
  }
  for (u32 k = 0; k < count; k++) copy_run(x + runs[k].src, runs[k].count, p->stride, (int)p->relu_input, q + runs[k].dst);
}

// The inverse for gradients: dx[ih, iw] = the padded value at its position, zero where no
// output reads it and over the cropped-away border.
static void unpad_plane(const Run *runs, u32 count, u32 stride, const float *q, float *dx, u32 size) {
  zero(dx, size);
  for (u32 k = 0; k < count; k++) {
    const float *src = q + runs[k].dst;
    float *dst = dx + runs[k].src;
    if (stride == 1) {
      for (u32 j = 0; j < runs[k].count; j++) dst[j] = src[j];
    } else {
      for (u32 j = 0; j < runs[k].count; j++) dst[j * stride] = src[j];
    }
  }
}

// unpad_plane for planes whose runs pair up as whole_row_pairs says (`even`: the index in each
// pair of the even columns' run): each row's even and odd columns interleaved in registers, eight
// values a store.
static void unpad_pairs(const Run *runs, u32 count, u32 even_run, u32 w, const float *q, float *dx) {
  for (u32 k = 0; k < count; k += 2) {
    const float *even = q + runs[k + even_run].dst, *odd = q + runs[k + 1 - even_run].dst;
    float *row = dx + runs[k + even_run].src;
    for (u32 j = 0; 2 * j < w; j += 4) {
      f4 a = wasm_v128_load(even + j), b = wasm_v128_load(odd + j);
      f4 lo = wasm_i32x4_shuffle(a, b, 0, 4, 1, 5), hi = wasm_i32x4_shuffle(a, b, 2, 6, 3, 7);
      u32 left = w - 2 * j;
      store_lanes(row + 2 * j, lo, left);
      if (left > 4) store_lanes(row + 2 * j + 4, hi, left - 4);
    }
  }
}

static u32 taps(const Params *p) { return p->kh * p->kw; }
static u32 in_plane(const Params *p) { return p->h * p->w; }
static u32 out_plane(const Params *p) { return p->oh * p->ow; }

// ---- Depthwise: weight [C, 1, KH, KW], p->ci = p->co = C. Where C is a multiple of four and the
// kernel is the search space's, depthwise4.c takes the launch four channels at a time (the same
// bits, faster); the kernels here take the rest: other channel counts, kernels and crops, planes too
// large for its scratch, and the stride-1 gradients on rows 28 wide or more, where these measured
// faster inside whole steps.

// Stores the first n lanes of a block: whole vectors unless the block passes the row's end.
static void store8(float *out, f4 a0, f4 a1, u32 n) {
  if (n >= 8) {
    wasm_v128_store(out, a0);
    wasm_v128_store(out + 4, a1);
    return;
  }
  float row[8];
  wasm_v128_store(row, a0);
  wasm_v128_store(row + 4, a1);
  for (u32 j = 0; j < n; j++) out[j] = row[j];
}

static void store4(float *out, f4 a, u32 n) {
  if (n >= 4) {
    wasm_v128_store(out, a);
    return;
  }
  float row[4];
  wasm_v128_store(row, a);
  for (u32 j = 0; j < n; j++) out[j] = row[j];
}

// n ≤ 8 outputs of one row: Σ_t w[t]·src[offsets[t] + j], in tap order.
static void dw_forward8(const float *src, const i32 *offsets, const float *w, u32 T, float *out, u32 n) {
  f4 a0 = wasm_f32x4_splat(0), a1 = a0;
  for (u32 t = 0; t < T; t++) {
    f4 wt = wasm_v128_load32_splat(w + t);
    a0 = madd(wt, wasm_v128_load(src + offsets[t]), a0);
    a1 = madd(wt, wasm_v128_load(src + offsets[t] + 4), a1);
  }
  store8(out, a0, a1, n);
}

// The same for n ≤ 4 outputs: the rows of reduction cells' small planes are often 4 wide or less.
static void dw_forward4(const float *src, const i32 *offsets, const float *w, u32 T, float *out, u32 n) {
  f4 a = wasm_f32x4_splat(0);
  for (u32 t = 0; t < T; t++) a = madd(wasm_v128_load32_splat(w + t), wasm_v128_load(src + offsets[t]), a);
  store4(out, a, n);
}

// The search space's depthwise kernels (3×3 and 5×5, dilation 1 or 2, stride 1 or 2) take a
// register-blocked path: R output rows × 8 columns in R·2 accumulators, the padded rows walked
// once, each input vector loaded once for every output row of the block whose taps read it. Rows
// of a block are `spacing` apart: with dilation 2 at stride 1, rows two apart share most of their
// input rows and neighbours share none. For any one output the taps still come in tap order
// (row, then column), as in dw_forward8, so the bits are the same.

// R output rows × n ≤ 8 columns from the padded plane q at the block's first output (rows of width
// floats, stride phases `phase` apart); y is the block's first output, rows `ystride` apart. K, D, S, R
// and the spacing are constants where it is inlined, so every loop unrolls, the rows no output
// reads are never loaded, and the accumulators stay in registers. Measured against this form in
// one process at 1 thread, and not kept: the kernel rows as a real loop, each input vector loaded
// once per output row (0.78–0.94×); skipping rows that are all padding, a branch a row (0.87–1.04×,
// 0.78–1.22× for dilation 2 alone); blocks of 2 or 3 rows instead of 4 (0.77–1.05×); and padding
// the next plane before computing this one (0.78–0.97×).
static inline __attribute__((always_inline)) void dw_block(const float *q, u32 width, u32 phase, const float *w, float *y, u32 ystride, u32 n,
                                                           const u32 K, const u32 D, const u32 S, const u32 R, const u32 spacing) {
  f4 acc[4][2];
  for (u32 r = 0; r < R; r++) acc[r][0] = acc[r][1] = wasm_f32x4_splat(0);
#pragma clang loop unroll(full)
  for (u32 row = 0; row < (R - 1) * spacing * S + (K - 1) * D + 1; row++) {
#pragma clang loop unroll(full)
    for (u32 kw = 0; kw < K; kw++) {
      const float *src = q + row * width + kw * D % S * phase + kw * D / S;
      f4 x0 = wasm_v128_load(src), x1 = wasm_v128_load(src + 4);
#pragma clang loop unroll(full)
      for (u32 r = 0; r < R; r++) {
        // Output row r reads this row through tap row kh = (row − first) / D, where that is a tap.
        u32 first = r * spacing * S;
        if (row < first || (row - first) % D || (row - first) / D >= K) continue;
        f4 wt = wasm_v128_load32_splat(w + (row - first) / D * K + kw);
        acc[r][0] = madd(wt, x0, acc[r][0]);
        acc[r][1] = madd(wt, x1, acc[r][1]);
      }
    }
  }
  for (u32 r = 0; r < R; r++) {
    store_lanes(y + r * spacing * ystride, acc[r][0], n);
    if (n > 4) store_lanes(y + r * spacing * ystride + 4, acc[r][1], n - 4);
  }
}

// Output rows [h, h + R·spacing) with the given spacing, all ow columns; output rows are ystride apart.
#define DW_ROWS 4
static inline __attribute__((always_inline)) void dw_rows(const float *q, const Padded *g, const float *w, float *y, u32 h, u32 ow, u32 ystride,
                                                          const u32 K, const u32 D, const u32 S, const u32 R, const u32 spacing) {
  for (u32 j = 0; j < ow; j += 8) {
    dw_block(q + h * S * g->width + j, g->width, g->phase, w, y + h * ystride + j, ystride, min_u(8, ow - j), K, D, S, R, spacing);
  }
}

// A whole padded plane → its output plane: groups of 4·D rows as D interleaved blocks where the
// stride is 1 (rows D apart share input rows), else 4 neighbouring rows; then the rest.
static inline __attribute__((always_inline)) void dw_blocks(const float *q, const Padded *g, const float *w, float *y, u32 oh, u32 ow, u32 ystride,
                                                            const u32 K, const u32 D, const u32 S) {
  const u32 spacing = S == 1 ? D : 1;
  u32 h = 0;
  for (; h + DW_ROWS * spacing <= oh; h += DW_ROWS * spacing) {
    for (u32 i = 0; i < spacing; i++) dw_rows(q, g, w, y, h + i, ow, ystride, K, D, S, DW_ROWS, spacing);
  }
  for (; h + DW_ROWS <= oh; h += DW_ROWS) dw_rows(q, g, w, y, h, ow, ystride, K, D, S, DW_ROWS, 1);
  switch (oh - h) {
    case 0: break;
    case 1: dw_rows(q, g, w, y, h, ow, ystride, K, D, S, 1, 1); break;
    case 2: dw_rows(q, g, w, y, h, ow, ystride, K, D, S, 2, 1); break;
    default: dw_rows(q, g, w, y, h, ow, ystride, K, D, S, 3, 1); break;
  }
}

typedef void (*DwPlane)(const float *q, const Padded *g, const float *w, float *y, u32 oh, u32 ow, u32 ystride);

#define DW_PLANE(K, D, S)                                                                                          \
  static void dw_plane_##K##_##D##_##S(const float *q, const Padded *g, const float *w, float *y, u32 oh, u32 ow, u32 ystride) { \
    dw_blocks(q, g, w, y, oh, ow, ystride, K, D, S);                                                               \
  }
DW_SHAPES(DW_PLANE)

// The blocked plane kernel for a square kernel, dilation and stride, or NULL.
static DwPlane dw_plane_kernel(const Params *p) {
  if (p->kh != p->kw || (p->kh != 3 && p->kh != 5) || p->dil > 2 || p->stride > 2) return 0;
  static const DwPlane kernels[2][2][2] = {
    { { dw_plane_3_1_1, dw_plane_3_1_2 }, { dw_plane_3_2_1, dw_plane_3_2_2 } },
    { { dw_plane_5_1_1, dw_plane_5_1_2 }, { dw_plane_5_2_1, dw_plane_5_2_2 } },
  };
  return kernels[p->kh == 5][p->dil - 1][p->stride - 1];
}

// (x, w) → y; items are planes (n, c).
static void dw_forward_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  Padded g = padded(p);
  float q[g.size] __attribute__((aligned(16)));
  u32 T = taps(p);
  i32 offsets[T];
  Run runs[g.rows * p->stride];
  tap_offsets(p, &g, offsets);
  u32 count = real_runs(p, &g, runs), pairs = whole_row_pairs(p, runs, count);
  DwPlane blocked = dw_plane_kernel(p);
  zero(q, g.size);
  for (u32 plane = lo; plane < hi; plane++) {
    const float *w = c->io[1] + (plane % p->ci) * T;
    float *y = c->io[2] + plane * out_plane(p);
    pad_plane(p, runs, count, pairs, c->io[0] + plane * in_plane(p), q);
    if (blocked) {
      blocked(q, &g, w, y, p->oh, p->ow, p->ow);
      continue;
    }
    for (u32 oh = 0; oh < p->oh; oh++) {
      const float *base = q + oh * p->stride * g.width;
      float *out = y + oh * p->ow;
      u32 ow = 0;
      for (; ow + 4 < p->ow; ow += 8) dw_forward8(base + ow, offsets, w, T, out + ow, p->ow - ow);
      if (ow < p->ow) dw_forward4(base + ow, offsets, w, T, out + ow, p->ow - ow);
    }
  }
}

// (dy, w) → dx; items are planes. A gather, not a scatter: padded position (r, q) sums
// w[kh, kw]·dy[(r − kh·d) / s, (q − kw·d) / s] over the taps where both divide, in tap order. For
// columns of one stride phase φ = q mod s the dividing taps are the same and dy's column moves with
// q, so eight positions of a phase row come from contiguous floats of one dy row (kept with zero
// margins in scratch); sums stay in registers, and the plane is unpadded at the end.

// A tap reaching a run of the padded plane: its weight, and where the dy values for the run's
// first position start in the scratch rows.
typedef struct {
  u32 tap, offset;
} Reach;

// The taps reaching each run, in tap order: run k's are reach[first[k]..first[k + 1]).
static void reaching_taps(const Params *p, const Padded *g, const Run *runs, u32 count, u32 margin, u32 dyw,
                          u32 *first, Reach *reach) {
  u32 s = p->stride, d = p->dil, n = 0;
  for (u32 k = 0; k < count; k++) {
    first[k] = n;
    u32 ph = runs[k].dst / g->phase, r = runs[k].dst % g->phase / g->width, j0 = runs[k].dst % g->width;
    for (u32 kh = 0; kh < p->kh && kh * d <= r; kh++) {
      u32 oh = (r - kh * d) / s;
      if ((r - kh * d) % s || oh >= p->oh) continue;
      for (u32 kw = 0; kw < p->kw; kw++) {
        i32 shift = (i32)ph - (i32)(kw * d);
        if (shift % (i32)s) continue;
        reach[n++] = (Reach){ kh * p->kw + kw, (u32)((i32)(oh * dyw + margin + j0) + shift / (i32)s) };
      }
    }
  }
  first[count] = n;
}

// n ≤ 8 positions of a run: Σ w[tap]·rows[offset + j] over its taps.
static void dw_gather8(const float *rows, const Reach *reach, u32 taps, const float *w, float *out) {
  f4 a0 = wasm_f32x4_splat(0), a1 = a0;
  for (u32 i = 0; i < taps; i++) {
    f4 wt = wasm_v128_load32_splat(w + reach[i].tap);
    const float *src = rows + reach[i].offset;
    a0 = madd(wt, wasm_v128_load(src), a0);
    a1 = madd(wt, wasm_v128_load(src + 4), a1);
  }
  wasm_v128_store(out, a0);
  wasm_v128_store(out + 4, a1);
}

static void dw_gather4(const float *rows, const Reach *reach, u32 taps, const float *w, float *out) {
  f4 a = wasm_f32x4_splat(0);
  for (u32 i = 0; i < taps; i++) {
    a = madd(wasm_v128_load32_splat(w + reach[i].tap), wasm_v128_load(rows + reach[i].offset), a);
  }
  wasm_v128_store(out, a);
}

// At stride 1 the gather is a forward convolution: dx[ih, iw] = Σ w[K−1−a, K−1−b]·dy[ih − top + pad
// − (K−1−a)·d, iw − left + pad − (K−1−b)·d], the flipped kernel over dy with (K−1)·d zeros around
// it. So the search space's kernels take dw_forward's blocked planes, straight into dx's real
// region; taps come in the flipped kernel's order, deterministic as before.
static void dw_backward_input_blocked(const Call *c, u32 lo, u32 hi, DwPlane blocked) {
  const Params *p = PARAMS(Params);
  u32 K = p->kh, T = taps(p), margin = (K - 1) * p->dil, rows = p->h - p->top, cols = p->w - p->left;
  // Plane position (i, j) holds dy[i + pad − margin, j + pad − margin]; (0, 0) is dx[top, left]'s
  // first tap. Its rows and width cover every vector the blocks read.
  Padded g = { .rows = rows + margin, .cols = cols + margin, .width = round_up(round_up(cols, 8) + margin, 4) };
  g.phase = g.size = g.rows * g.width;
  float q[g.size] __attribute__((aligned(16)));
  zero(q, g.size);
  i32 shift = (i32)margin - (i32)p->pad;
  u32 oh0 = shift < 0 ? (u32)-shift : 0, oh1 = min_u(p->oh, (u32)max_i(0, (i32)g.rows - shift));
  u32 ow0 = oh0, ow1 = min_u(p->ow, (u32)max_i(0, (i32)g.width - shift));
  float flipped[T];
  for (u32 plane = lo; plane < hi; plane++) {
    const float *w = c->io[WEIGHT] + (plane % p->ci) * T;
    for (u32 t = 0; t < T; t++) flipped[t] = w[T - 1 - t];
    const float *dy = c->io[DY] + plane * out_plane(p);
    if (ow0 < ow1 && oh0 < oh1) copy_rows(dy + oh0 * p->ow + ow0, p->ow, ow1 - ow0, oh1 - oh0, 0, q + (oh0 + shift) * g.width + ow0 + shift, g.width);
    float *dx = c->io[DX] + plane * in_plane(p);
    // The cropped-away border gets no gradient.
    if (p->top || p->left) zero(dx, in_plane(p));
    blocked(q, &g, flipped, dx + p->top * p->w + p->left, rows, cols, p->w);
    if (p->relu_grad) relu_mask(dx, c->io[RELU_X] + plane * in_plane(p), in_plane(p));
  }
}

// At stride 2, input column iw = 2j + e is reached by the taps kw with e + pad − kw·d even, from dy
// column j + (e + pad − kw·d) / 2, and rows likewise: so a row's even and its odd columns are each a
// small stride-1 convolution of dy, the same taps for every j. The search space's kernels take this
// path with every loop unrolled: per block of input row pairs (2i, 2i + 1), four or eight columns
// of each parity, from dy copied into scratch with zero margins, interleaved into dx in registers. A
// position sums its taps in tap order, as the gather does; the margins add products of finite
// weights with zero, which leave a sum that starts at +0 (and so is never −0) bit for bit unchanged.

// dy's scratch plane: row i + M holds dy row i, column j + M dy column j (M = ⌈pad / 2⌉), with
// zeros as far as the blocks read: M rows and columns before dy, and ⌊(1 + pad) / 2⌋ rows and
// columns past the last row pair and the last block's columns (blocks of eight a parity).
typedef struct {
  u32 margin, rows, width;
} DyPlane;

static DyPlane dy_plane(const Params *p) {
  u32 pad = p->pad, M = (pad + 1) / 2, reach = (pad + 2) / 2 + M;
  u32 half_w = round_up(ceil_div_u(p->w, 2), 8);
  DyPlane d = { M, max_u(p->oh + M, (p->h - 1) / 2 + reach + 1), 0 };
  d.width = round_up(max_u(half_w + reach, p->ow + M), 4);
  return d;
}

// Input rows 2(i + r) + g for r < R, g < 2 (g < G in the block's last row pair), columns
// [2·j0, 2·j0 + 8V): sums in 2·2·R·V accumulators (those that no tap reaches stay zero and cost
// nothing). As in dw_block, dy's rows and columns are walked once, each vector loaded once for
// every sum whose taps read it: dy row i + ρ reaches row parity g through kh = (g + pad − 2ρ) / D,
// column shift β reaches parity e through kw = (e + pad − 2β) / D, so walking ρ and β downwards
// gives every sum its taps in tap order.
static inline __attribute__((always_inline)) void dw_s2_input_block(const float *P, u32 pw, u32 i, u32 j0, const float *w, float *dx, u32 dxw,
                                                                    u32 left, const u32 K, const u32 D, const u32 pad, const u32 M,
                                                                    const u32 R, const u32 G, const u32 V) {
  f4 acc[2][2][2][2];
#pragma clang loop unroll(full)
  for (u32 r = 0; r < R; r++) {
    for (u32 g = 0; g < 2; g++) {
      for (u32 e = 0; e < 2; e++) acc[r][g][e][0] = acc[r][g][e][1] = wasm_f32x4_splat(0);
    }
  }
  // rr and bb count ρ and β down from (1 + pad) / 2 to −pad / 2.
  const i32 top = (i32)(1 + pad) / 2, span = top + (i32)pad / 2 + 1;
#pragma clang loop unroll(full)
  for (i32 rr = 0; rr < (i32)(R - 1) + span; rr++) {
#pragma clang loop unroll(full)
    for (i32 bb = 0; bb < span; bb++) {
      // The rows of the block read dy rows i + r + ρ; walk them as i + R − 1 + top − rr.
      const i32 beta = top - bb;
      const float *src = P + (u32)((i32)(i + M + R - 1) + top - rr) * pw + j0 + M + beta;
      f4 x[2];
#pragma clang loop unroll(full)
      for (u32 v = 0; v < V; v++) x[v] = wasm_v128_load(src + 4 * v);
#pragma clang loop unroll(full)
      for (u32 r = 0; r < R; r++) {
        const i32 rho = (i32)(R - 1 - r) + top - rr;
        if (rho > top || rho < -(i32)pad / 2) continue;
#pragma clang loop unroll(full)
        for (u32 g = 0; g < (r + 1 < R ? 2 : G); g++) {
          const i32 ah = (i32)(g + pad) - 2 * rho;
          if (ah < 0 || ah % (i32)D || ah / (i32)D >= (i32)K) continue;
#pragma clang loop unroll(full)
          for (u32 e = 0; e < 2; e++) {
            const i32 aw = (i32)(e + pad) - 2 * beta;
            if (aw < 0 || aw % (i32)D || aw / (i32)D >= (i32)K) continue;
            f4 wt = wasm_v128_load32_splat(w + ah / (i32)D * (i32)K + aw / (i32)D);
#pragma clang loop unroll(full)
            for (u32 v = 0; v < V; v++) acc[r][g][e][v] = madd(wt, x[v], acc[r][g][e][v]);
          }
        }
      }
    }
  }
#pragma clang loop unroll(full)
  for (u32 r = 0; r < R; r++) {
#pragma clang loop unroll(full)
    for (u32 g = 0; g < (r + 1 < R ? 2 : G); g++) {
      float *out = dx + (2 * r + g) * dxw;
#pragma clang loop unroll(full)
      for (u32 v = 0; v < V; v++) {
        f4 lo = wasm_i32x4_shuffle(acc[r][g][0][v], acc[r][g][1][v], 0, 4, 1, 5), hi = wasm_i32x4_shuffle(acc[r][g][0][v], acc[r][g][1][v], 2, 6, 3, 7);
        if (left <= 8 * v) break;
        u32 n = left - 8 * v;
        store_lanes(out + 8 * v, lo, n);
        if (n > 4) store_lanes(out + 8 * v + 4, hi, n - 4);
      }
    }
  }
}

// The blocks of one row of blocks, columns 8V at a time.
static inline __attribute__((always_inline)) void dw_s2_input_blocks(const float *P, u32 pw, u32 i, const float *w, float *dx, u32 wd,
                                                                     const u32 K, const u32 D, const u32 R, const u32 G, const u32 V) {
  const u32 pad = (K - 1) * D / 2, M = (pad + 1) / 2;
  for (u32 j0 = 0; 2 * j0 < wd; j0 += 4 * V) dw_s2_input_block(P, pw, i, j0, w, dx + 2 * i * wd + 2 * j0, wd, wd - 2 * j0, K, D, pad, M, R, G, V);
}

// A whole dx plane from dy's scratch plane: R row pairs a block (two where the dilation leaves only
// even rows and columns with taps, so that the block has more than one chain of sums), then the
// rest one pair at a time, the last pair of an odd-sized plane one row.
static inline __attribute__((always_inline)) void dw_s2_input_plane(const float *P, u32 pw, const float *w, float *dx, u32 h, u32 wd,
                                                                    const u32 K, const u32 D, const u32 V) {
  const u32 R = D == 2 ? 2 : 1;
  u32 i = 0;
  for (; 2 * (i + R) <= h; i += R) dw_s2_input_blocks(P, pw, i, w, dx, wd, K, D, R, 2, V);
  for (; 2 * i + 1 < h; i++) dw_s2_input_blocks(P, pw, i, w, dx, wd, K, D, 1, 2, V);
  if (2 * i < h) dw_s2_input_blocks(P, pw, i, w, dx, wd, K, D, 1, 1, V);
}

typedef void (*DwS2Input)(const float *P, u32 pw, const float *w, float *dx, u32 h, u32 wd);
// Two vectors of each parity a block where rows have eight or more of each, else one.
#define DW_S2_INPUT(K, D)                                                                              \
  static void dw_s2_input_##K##_##D(const float *P, u32 pw, const float *w, float *dx, u32 h, u32 wd) { \
    if (wd >= 16) dw_s2_input_plane(P, pw, w, dx, h, wd, K, D, 2);                                  \
    else dw_s2_input_plane(P, pw, w, dx, h, wd, K, D, 1);                                             \
  }
DW_S2_INPUT(3, 1)
DW_S2_INPUT(3, 2)
DW_S2_INPUT(5, 1)

// The unrolled stride-2 kernel for an uncropped square kernel of the search space with its "same"
// padding, or NULL. 5×5 kernels take it only on rows under 16 wide at dilation 1: on wider rows,
// and at dilation 2, the gather measured as fast or faster (up to 1.25×), though the unrolled
// kernel makes the 3×3 ones 1.3–1.9× faster.
static DwS2Input dw_s2_input_kernel(const Params *p) {
  if (p->stride != 2 || p->top || p->left || p->kh != p->kw || p->dil > 2 || p->pad != (p->kh - 1) * p->dil / 2) return 0;
  if (p->kh == 3) return p->dil == 1 ? dw_s2_input_3_1 : dw_s2_input_3_2;
  return p->kh == 5 && p->dil == 1 && p->w < 16 ? dw_s2_input_5_1 : 0;
}

static void dw_backward_input_s2(const Call *c, u32 lo, u32 hi, DwS2Input kernel) {
  const Params *p = PARAMS(Params);
  DyPlane d = dy_plane(p);
  float P[d.rows * d.width] __attribute__((aligned(16)));
  zero(P, d.rows * d.width);
  u32 T = taps(p);
  for (u32 plane = lo; plane < hi; plane++) {
    const float *w = c->io[WEIGHT] + (plane % p->ci) * T;
    copy_rows(c->io[DY] + plane * out_plane(p), p->ow, p->ow, p->oh, 0, P + d.margin * d.width + d.margin, d.width);
    float *dx = c->io[DX] + plane * in_plane(p);
    kernel(P, d.width, w, dx, p->h, p->w);
    if (p->relu_grad) relu_mask(dx, c->io[RELU_X] + plane * in_plane(p), in_plane(p));
  }
}

static void dw_backward_input_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  DwPlane blocked = p->stride == 1 ? dw_plane_kernel(p) : 0;
  if (blocked) {
    dw_backward_input_blocked(c, lo, hi, blocked);
    return;
  }
  DwS2Input s2 = dw_s2_input_kernel(p);
  if (s2) {
    dw_backward_input_s2(c, lo, hi, s2);
    return;
  }
  Padded g = padded(p);
  float q[g.size] __attribute__((aligned(16)));
  u32 s = p->stride, d = p->dil, margin = ((p->kw - 1) * d + s - 1) / s + 1;
  u32 dyw = margin + g.width + TILE_N;
  float rows[p->oh * dyw] __attribute__((aligned(16)));
  zero(rows, p->oh * dyw);
  Run runs[g.rows * s];
  u32 count = real_runs(p, &g, runs), first[count + 1];
  Reach reach[count * taps(p) + 1];
  reaching_taps(p, &g, runs, count, margin, dyw, first, reach);
  u32 pairs = whole_row_pairs(p, runs, count);
  for (u32 plane = lo; plane < hi; plane++) {
    const float *w = c->io[WEIGHT] + (plane % p->ci) * taps(p);
    const float *dy = c->io[DY] + plane * out_plane(p);
    for (u32 oh = 0; oh < p->oh; oh++) {
      for (u32 ow = 0; ow < p->ow; ow++) rows[oh * dyw + margin + ow] = dy[oh * p->ow + ow];
    }
    // Only positions of real input values: on small planes most of the padded plane is padding.
    // Blocks may write past a run's end, into padding that unpadding never reads.
    for (u32 k = 0; k < count; k++) {
      const Reach *r = reach + first[k];
      u32 n = first[k + 1] - first[k], j = 0;
      float *out = q + runs[k].dst;
      for (; j + 4 < runs[k].count; j += 8) dw_gather8(rows + j, r, n, w, out + j);
      if (j < runs[k].count) dw_gather4(rows + j, r, n, w, out + j);
    }
    float *dx = c->io[DX] + plane * in_plane(p);
    if (pairs) unpad_pairs(runs, count, pairs - 1, p->w, q, dx);
    else unpad_plane(runs, count, s, q, dx, in_plane(p));
    if (p->relu_grad) relu_mask(dx, c->io[RELU_X] + plane * in_plane(p), in_plane(p));
  }
}

// sums[k] += Σ_oh Σ_ow dy[oh, ow]·q[offsets[k] + oh·step + ow] over output rows [oh0, oh1) of one
// plane, for K ≤ 5 neighbouring taps at once: each dy vector, loaded once, meets the K input
// vectors it multiplies, and the K sums stay in registers (K is a constant where it is inlined).
// Four columns a vector, then a row's last ow mod 4 one by one.
#define ROW_TAPS 5
static inline __attribute__((always_inline)) void dw_tap_sums(const Params *p, const float *dy, const float *q, const i32 *offsets, u32 step,
                                                              u32 oh0, u32 oh1, u32 K, float *sums) {
  f4 acc[ROW_TAPS];
  float tail[ROW_TAPS];
  for (u32 k = 0; k < K; k++) {
    acc[k] = wasm_f32x4_splat(0);
    tail[k] = 0.0f;
  }
  for (u32 oh = oh0; oh < oh1; oh++) {
    const float *d = dy + oh * p->ow, *x = q + oh * step;
    u32 ow = 0;
    for (; ow + 4 <= p->ow; ow += 4) {
      f4 dv = wasm_v128_load(d + ow);
      for (u32 k = 0; k < K; k++) acc[k] = madd(dv, wasm_v128_load(x + offsets[k] + ow), acc[k]);
    }
    for (; ow < p->ow; ow++) {
      for (u32 k = 0; k < K; k++) tail[k] += d[ow] * x[offsets[k] + ow];
    }
  }
  for (u32 k = 0; k < K; k++) sums[k] += hsum(acc[k]) + tail[k];
}

// Every tap's sum, ROW_TAPS at a time, each group with its count as a constant.
static void dw_all_tap_sums(const Params *p, const float *dy, const float *q, const i32 *offsets, u32 step, u32 oh0, u32 oh1, float *sums) {
  for (u32 t = 0, T = taps(p); t < T; t += ROW_TAPS) {
    switch (min_u(ROW_TAPS, T - t)) {
      case 1: dw_tap_sums(p, dy, q, offsets + t, step, oh0, oh1, 1, sums + t); break;
      case 2: dw_tap_sums(p, dy, q, offsets + t, step, oh0, oh1, 2, sums + t); break;
      case 3: dw_tap_sums(p, dy, q, offsets + t, step, oh0, oh1, 3, sums + t); break;
      case 4: dw_tap_sums(p, dy, q, offsets + t, step, oh0, oh1, 4, sums + t); break;
      default: dw_tap_sums(p, dy, q, offsets + t, step, oh0, oh1, 5, sums + t); break;
    }
  }
}

// (x, dy) → partial[chunk, c·KH·KW + tap]; items are (chunk, channel). Per image of the chunk, a
// few taps at a time over the image's rows (dy and the padded plane stay in L1), sums in registers.
static void dw_backward_weight_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  Padded g = padded(p);
  float q[g.size] __attribute__((aligned(16)));
  u32 T = taps(p);
  i32 offsets[T];
  Run runs[g.rows * p->stride];
  tap_offsets(p, &g, offsets);
  u32 count = real_runs(p, &g, runs), pairs = whole_row_pairs(p, runs, count);
  zero(q, g.size);
  float sums[T];
  for (u32 item = lo; item < hi; item++) {
    u32 chunk = item / p->ci, ch = item % p->ci, first, end;
    chunk_rows(p, chunk, &first, &end);
    for (u32 t = 0; t < T; t++) sums[t] = 0.0f;
    for (u32 row = first; row < end;) {
      u32 n = row / p->oh, plane = n * p->ci + ch, stop = min_u(end, (n + 1) * p->oh);
      pad_plane(p, runs, count, pairs, c->io[0] + plane * in_plane(p), q);
      const float *dy = c->io[1] + plane * out_plane(p);
      dw_all_tap_sums(p, dy, q, offsets, p->stride * g.width, row - n * p->oh, stop - n * p->oh, sums);
      row = stop;
    }
    float *out = c->io[2] + chunk * p->ci * T + ch * T;
    for (u32 t = 0; t < T; t++) out[t] = sums[t];
  }
}

KERNEL(conv, dw_forward) {
  const Params *p = PARAMS(Params);
  if (dw4_forward(c)) return;
  parallel_for(c, dw_forward_range, p->n * p->ci, 2.0 * out_plane(p) * taps(p));
}

KERNEL(conv, dw_backward_input) {
  const Params *p = PARAMS(Params);
  if (dw4_backward_input(c)) return;
  parallel_for(c, dw_backward_input_range, p->n * p->ci, 2.0 * out_plane(p) * taps(p));
}

KERNEL(conv, dw_backward_weight) {
  const Params *p = PARAMS(Params);
  if (dw4_backward_weight(c)) return;
  parallel_for(c, dw_backward_weight_range, p->chunks * p->ci, 2.0 * p->chunk_rows * p->ow * taps(p));
}

// ---- Dense: weight [O, I, KH, KW], p->ci = I, p->co = O. GEMMs with k = (input channel, tap).

// Scratch for padded planes of several channels at once (floats), within the 4 MiB thread stack.
#define GROUP_FLOATS (192 * 1024)

// Input channels handled together: their (channel, tap) pairs fill at most one KC block.
static u32 channel_group(const Params *p, const Padded *g) {
  return max_u(1, min_u(min_u(KC / taps(p), GROUP_FLOATS / g->size), p->ci));
}

// (x, w) → y; items are images. Per channel group, k = (channel, tap) rows of B point into the
// group's padded planes at the output row; A is w, read in place.
static void dense_forward_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  Padded g = padded(p);
  u32 T = taps(p), group = channel_group(p, &g), K = p->ci * T;
  float q[group * g.size] __attribute__((aligned(16)));
  i32 offsets[T], boff[KC];
  Run runs[g.rows * p->stride];
  tap_offsets(p, &g, offsets);
  u32 count = real_runs(p, &g, runs), pairs = whole_row_pairs(p, runs, count);
  zero(q, group * g.size);
  for (u32 n = lo; n < hi; n++) {
    for (u32 c0 = 0; c0 < p->ci; c0 += group) {
      u32 cg = min_u(group, p->ci - c0), kc = cg * T;
      for (u32 i = 0; i < cg; i++) {
        pad_plane(p, runs, count, pairs, c->io[0] + (n * p->ci + c0 + i) * in_plane(p), q + i * g.size);
        for (u32 t = 0; t < T; t++) boff[i * T + t] = (i32)(i * g.size) + offsets[t];
      }
      for (u32 oh = 0; oh < p->oh; oh++) {
        const float *B = q + oh * p->stride * g.width;
        float *y = c->io[2] + (n * p->co * p->oh + oh) * p->ow;
        for (u32 ow = 0; ow < p->ow; ow += TILE_N) {
          for (u32 o = 0; o < p->co; o += TILE_M) {
            tile(kc, c->io[1] + o * K + c0 * T, K, 1, B + ow, boff, y + o * out_plane(p) + ow, out_plane(p),
                 min_u(TILE_M, p->co - o), min_u(TILE_N, p->ow - ow), c0 > 0);
          }
        }
      }
    }
  }
}

// (dy, w) → dx; items are images. For each tap and output row, the group's padded gradient planes
// receive wᵀ·dy (rows: input channels, k: output channels); then they are unpadded.
static void dense_backward_input_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  Padded g = padded(p);
  u32 T = taps(p), group = channel_group(p, &g);
  float q[group * g.size] __attribute__((aligned(16)));
  float panel[KC * TILE_N] __attribute__((aligned(16)));
  i32 offsets[T], boff[KC], prow[KC];
  Run runs[g.rows * p->stride];
  tap_offsets(p, &g, offsets);
  u32 count = real_runs(p, &g, runs), pairs = whole_row_pairs(p, runs, count);
  packed_rows(KC, prow);
  for (u32 n = lo; n < hi; n++) {
    const float *dy = c->io[DY] + n * p->co * out_plane(p);
    for (u32 c0 = 0; c0 < p->ci; c0 += group) {
      u32 cg = min_u(group, p->ci - c0);
      zero(q, cg * g.size);
      for (u32 t = 0; t < T; t++) {
        for (u32 oh = 0; oh < p->oh; oh++) {
          float *G = q + offsets[t] + oh * p->stride * g.width;
          for (u32 o0 = 0; o0 < p->co; o0 += KC) {
            u32 kc = min_u(KC, p->co - o0);
            for (u32 k = 0; k < kc; k++) boff[k] = (i32)((o0 + k) * out_plane(p) + oh * p->ow);
            const float *A = c->io[WEIGHT] + (o0 * p->ci + c0) * T + t;
            for (u32 ow = 0; ow < p->ow; ow += TILE_N) {
              u32 nr = min_u(TILE_N, p->ow - ow);
              const float *B = dy + ow;
              const i32 *rows = boff;
              if (nr < TILE_N) {
                pack_panel(kc, B, boff, nr, panel);
                B = panel;
                rows = prow;
              }
              for (u32 i = 0; i < cg; i += TILE_M) {
                tile(kc, A + i * T, T, p->ci * T, B, rows, G + i * g.size + ow, g.size, min_u(TILE_M, cg - i), nr, 1);
              }
            }
          }
        }
      }
      for (u32 i = 0; i < cg; i++) {
        u32 at = (n * p->ci + c0 + i) * in_plane(p);
        if (pairs) unpad_pairs(runs, count, pairs - 1, p->w, q + i * g.size, c->io[DX] + at);
        else unpad_plane(runs, count, p->stride, q + i * g.size, c->io[DX] + at, in_plane(p));
        if (p->relu_grad) relu_mask(c->io[DX] + at, c->io[RELU_X] + at, in_plane(p));
      }
    }
  }
}

// (x, dy) → partial[chunk, (o·I + i)·KH·KW + tap]; items are chunks. Per output row: k = the row's
// pixels, A = dy rows (output channels), B = packed panels of 8 (input channel, tap) columns of the
// channel group's padded planes, which are contiguous in the partial's rows; summed row after row
// straight into the chunk's partial.
static void dense_backward_weight_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  Padded g = padded(p);
  u32 T = taps(p), group = channel_group(p, &g), K = p->ci * T;
  float q[group * g.size] __attribute__((aligned(16)));
  float panel[KC * TILE_N] __attribute__((aligned(16)));
  i32 offsets[T], prow[KC], col[KC];
  Run runs[g.rows * p->stride];
  tap_offsets(p, &g, offsets);
  u32 count = real_runs(p, &g, runs), pairs = whole_row_pairs(p, runs, count);
  zero(q, group * g.size);
  packed_rows(KC, prow);
  for (u32 chunk = lo; chunk < hi; chunk++) {
    u32 first, end;
    chunk_rows(p, chunk, &first, &end);
    float *out = c->io[2] + chunk * p->co * K;
    for (u32 c0 = 0; c0 < p->ci; c0 += group) {
      u32 cg = min_u(group, p->ci - c0), columns = cg * T;
      for (u32 j = 0; j < columns; j++) col[j] = (i32)(j / T * g.size) + offsets[j % T];
      int add = 0;
      for (u32 row = first; row < end;) {
        u32 n = row / p->oh, stop = min_u(end, (n + 1) * p->oh);
        for (u32 i = 0; i < cg; i++) pad_plane(p, runs, count, pairs, c->io[0] + (n * p->ci + c0 + i) * in_plane(p), q + i * g.size);
        for (; row < stop; row++, add = 1) {
          u32 oh = row % p->oh;
          const float *A = c->io[1] + (n * p->co * p->oh + oh) * p->ow, *base = q + oh * p->stride * g.width;
          for (u32 j0 = 0; j0 < columns; j0 += TILE_N) {
            u32 nr = min_u(TILE_N, columns - j0);
            for (u32 k0 = 0; k0 < p->ow; k0 += KC) {
              u32 kc = min_u(KC, p->ow - k0);
              for (u32 k = 0; k < kc; k++) {
                for (u32 j = 0; j < TILE_N; j++) panel[k * TILE_N + j] = j < nr ? base[col[j0 + j] + k0 + k] : 0.0f;
              }
              for (u32 o = 0; o < p->co; o += TILE_M) {
                tile(kc, A + o * out_plane(p) + k0, out_plane(p), 1, panel, prow, out + o * K + c0 * T + j0, K,
                     min_u(TILE_M, p->co - o), nr, add || k0 > 0);
              }
            }
          }
        }
      }
    }
  }
}

KERNEL(conv, dense_forward) {
  const Params *p = PARAMS(Params);
  if (taps(p) == 1) {
    dense1x1_forward(c);
    return;
  }
  parallel_for(c, dense_forward_range, p->n, 2.0 * out_plane(p) * p->co * p->ci * taps(p));
}

KERNEL(conv, dense_backward_input) {
  const Params *p = PARAMS(Params);
  if (taps(p) == 1) {
    dense1x1_backward_input(c);
    return;
  }
  parallel_for(c, dense_backward_input_range, p->n, 2.0 * out_plane(p) * p->co * p->ci * taps(p));
}

KERNEL(conv, dense_backward_weight) {
  const Params *p = PARAMS(Params);
  if (taps(p) == 1) {
    dense1x1_backward_weight(c);
    return;
  }
  parallel_for(c, dense_backward_weight_range, p->chunks, 2.0 * p->chunk_rows * p->ow * p->co * p->ci * taps(p));
}
