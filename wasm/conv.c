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
// register tile (tile.h) whose B rows point straight into the padded planes.
#include "tile.h"

typedef struct {
  u32 n, ci, co, chunk_rows;
  u32 h, w, oh, ow;
  u32 kh, kw, stride, dil;
  u32 pad, top, left, chunks;
} Params;

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

// Copies one input plane into its padded form.
static void pad_plane(const Params *p, const Padded *g, const float *x, float *q) {
  for (u32 i = 0; i < g->size; i++) q[i] = 0.0f;
  for (u32 r = 0; r < g->rows; r++) {
    i32 ih = physical(p, r, p->top);
    if (ih < (i32)p->top || ih >= (i32)p->h) continue;
    const float *row = x + ih * (i32)p->w + p->left - p->pad;
    for (u32 ph = 0; ph < p->stride; ph++) {
      float *dst = q + ph * g->phase + r * g->width;
      u32 lo, hi;
      real_columns(p, g, ph, &lo, &hi);
      for (u32 j = lo; j < hi; j++) dst[j] = row[j * p->stride + ph];
    }
  }
}

// The inverse for gradients: dx[ih, iw] = the padded value at its position, zero where no
// output reads it and over the cropped-away border.
static void unpad_plane(const Params *p, const Padded *g, const float *q, float *dx) {
  for (u32 i = 0; i < p->h * p->w; i++) dx[i] = 0.0f;
  for (u32 r = 0; r < g->rows; r++) {
    i32 ih = physical(p, r, p->top);
    if (ih < (i32)p->top || ih >= (i32)p->h) continue;
    float *row = dx + ih * (i32)p->w + p->left - p->pad;
    for (u32 ph = 0; ph < p->stride; ph++) {
      const float *src = q + ph * g->phase + r * g->width;
      u32 lo, hi;
      real_columns(p, g, ph, &lo, &hi);
      for (u32 j = lo; j < hi; j++) row[j * p->stride + ph] = src[j];
    }
  }
}

static u32 taps(const Params *p) { return p->kh * p->kw; }
static u32 in_plane(const Params *p) { return p->h * p->w; }
static u32 out_plane(const Params *p) { return p->oh * p->ow; }

static float hsum(f4 v) {
  return (wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1)) + (wasm_f32x4_extract_lane(v, 2) + wasm_f32x4_extract_lane(v, 3));
}

// ---- Depthwise: weight [C, 1, KH, KW], p->ci = p->co = C.

// (x, w) → y; items are planes (n, c).
static void dw_forward_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  Padded g = padded(p);
  float q[g.size] __attribute__((aligned(16)));
  i32 offsets[taps(p)];
  tap_offsets(p, &g, offsets);
  for (u32 plane = lo; plane < hi; plane++) {
    const float *w = c->io[1] + (plane % p->ci) * taps(p);
    float *y = c->io[2] + plane * out_plane(p);
    pad_plane(p, &g, c->io[0] + plane * in_plane(p), q);
    for (u32 oh = 0; oh < p->oh; oh++) {
      const float *base = q + oh * p->stride * g.width;
      for (u32 ow = 0; ow < p->ow; ow += TILE_N) {
        f4 a0 = wasm_f32x4_splat(0), a1 = a0;
        for (u32 t = 0; t < taps(p); t++) {
          f4 wt = wasm_v128_load32_splat(w + t);
          const float *src = base + offsets[t] + ow;
          a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(wt, wasm_v128_load(src)));
          a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(wt, wasm_v128_load(src + 4)));
        }
        float *out = y + oh * p->ow + ow;
        if (ow + TILE_N <= p->ow) {
          wasm_v128_store(out, a0);
          wasm_v128_store(out + 4, a1);
        } else {
          float row[TILE_N];
          wasm_v128_store(row, a0);
          wasm_v128_store(row + 4, a1);
          for (u32 j = 0; ow + j < p->ow; j++) out[j] = row[j];
        }
      }
    }
  }
}

// (dy, w) → dx; items are planes. A gather, not a scatter: padded position (r, q) sums
// w[kh, kw]·dy[(r − kh·d) / s, (q − kw·d) / s] over the taps where both divide, in tap order. For
// columns of one stride phase φ = q mod s the dividing taps are the same and dy's column moves with
// q, so eight positions of a phase row come from contiguous floats of one dy row (kept with zero
// margins in scratch); sums stay in registers, and the plane is unpadded at the end.
static void dw_backward_input_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  Padded g = padded(p);
  float q[g.size] __attribute__((aligned(16)));
  u32 s = p->stride, d = p->dil, margin = ((p->kw - 1) * d + s - 1) / s + 1;
  u32 dyw = margin + g.width + TILE_N;
  float rows[p->oh * dyw] __attribute__((aligned(16)));
  for (u32 i = 0; i < p->oh * dyw; i++) rows[i] = 0.0f;
  for (u32 plane = lo; plane < hi; plane++) {
    const float *w = c->io[1] + (plane % p->ci) * taps(p);
    const float *dy = c->io[0] + plane * out_plane(p);
    for (u32 oh = 0; oh < p->oh; oh++) {
      for (u32 ow = 0; ow < p->ow; ow++) rows[oh * dyw + margin + ow] = dy[oh * p->ow + ow];
    }
    // Only positions of real input values: on small planes most of the padded plane is padding.
    for (u32 r = 0; r < g.rows; r++) {
      i32 ih = physical(p, r, p->top);
      if (ih < (i32)p->top || ih >= (i32)p->h) continue;
      for (u32 ph = 0; ph < s; ph++) {
        float *out = q + ph * g.phase + r * g.width;
        u32 first, end;
        real_columns(p, &g, ph, &first, &end);
        for (u32 j = first; j < end; j += TILE_N) {
          f4 a0 = wasm_f32x4_splat(0), a1 = a0;
          for (u32 kh = 0; kh < p->kh && kh * d <= r; kh++) {
            u32 oh = (r - kh * d) / s;
            if ((r - kh * d) % s || oh >= p->oh) continue;
            const float *row = rows + oh * dyw + margin + j;
            for (u32 kw = 0; kw < p->kw; kw++) {
              i32 shift = (i32)ph - (i32)(kw * d);
              if (shift % (i32)s) continue;
              const float *src = row + shift / (i32)s;
              f4 wt = wasm_v128_load32_splat(w + kh * p->kw + kw);
              a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(wt, wasm_v128_load(src)));
              a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(wt, wasm_v128_load(src + 4)));
            }
          }
          wasm_v128_store(out + j, a0);
          wasm_v128_store(out + j + 4, a1);
        }
      }
    }
    unpad_plane(p, &g, q, c->io[2] + plane * in_plane(p));
  }
}

// The (n, oh) rows [first, end) of a chunk.
static void chunk_rows(const Params *p, u32 chunk, u32 *first, u32 *end) {
  *first = chunk * p->chunk_rows;
  *end = min_u(p->n * p->oh, *first + p->chunk_rows);
}

// (x, dy) → partial[chunk, c·KH·KW + tap]; items are (chunk, channel). Per image of the chunk, one
// tap at a time over the image's rows (dy and the padded plane stay in L1), sums in registers.
static void dw_backward_weight_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  Padded g = padded(p);
  float q[g.size] __attribute__((aligned(16)));
  u32 T = taps(p);
  i32 offsets[T];
  tap_offsets(p, &g, offsets);
  float sums[T];
  u32 full = p->ow / 8 * 8;
  for (u32 item = lo; item < hi; item++) {
    u32 chunk = item / p->ci, ch = item % p->ci, first, end;
    chunk_rows(p, chunk, &first, &end);
    for (u32 t = 0; t < T; t++) sums[t] = 0.0f;
    for (u32 row = first; row < end;) {
      u32 n = row / p->oh, plane = n * p->ci + ch, stop = min_u(end, (n + 1) * p->oh);
      pad_plane(p, &g, c->io[0] + plane * in_plane(p), q);
      for (u32 t = 0; t < T; t++) {
        f4 a0 = wasm_f32x4_splat(0), a1 = a0;
        float tail = 0.0f;
        for (u32 r = row; r < stop; r++) {
          u32 oh = r % p->oh;
          const float *d = c->io[1] + plane * out_plane(p) + oh * p->ow, *src = q + offsets[t] + oh * p->stride * g.width;
          for (u32 ow = 0; ow < full; ow += 8) {
            a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(wasm_v128_load(d + ow), wasm_v128_load(src + ow)));
            a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(wasm_v128_load(d + ow + 4), wasm_v128_load(src + ow + 4)));
          }
          for (u32 ow = full; ow < p->ow; ow++) tail += d[ow] * src[ow];
        }
        sums[t] += hsum(wasm_f32x4_add(a0, a1)) + tail;
      }
      row = stop;
    }
    float *out = c->io[2] + chunk * p->ci * T + ch * T;
    for (u32 t = 0; t < T; t++) out[t] = sums[t];
  }
}

KERNEL(conv, dw_forward) {
  const Params *p = PARAMS(Params);
  parallel_for(c, dw_forward_range, p->n * p->ci, 2.0 * out_plane(p) * taps(p));
}

KERNEL(conv, dw_backward_input) {
  const Params *p = PARAMS(Params);
  parallel_for(c, dw_backward_input_range, p->n * p->ci, 2.0 * out_plane(p) * taps(p));
}

KERNEL(conv, dw_backward_weight) {
  const Params *p = PARAMS(Params);
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
  tap_offsets(p, &g, offsets);
  for (u32 n = lo; n < hi; n++) {
    for (u32 c0 = 0; c0 < p->ci; c0 += group) {
      u32 cg = min_u(group, p->ci - c0), kc = cg * T;
      for (u32 i = 0; i < cg; i++) {
        pad_plane(p, &g, c->io[0] + (n * p->ci + c0 + i) * in_plane(p), q + i * g.size);
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
  tap_offsets(p, &g, offsets);
  packed_rows(KC, prow);
  for (u32 n = lo; n < hi; n++) {
    const float *dy = c->io[0] + n * p->co * out_plane(p);
    for (u32 c0 = 0; c0 < p->ci; c0 += group) {
      u32 cg = min_u(group, p->ci - c0);
      for (u32 i = 0; i < cg * g.size; i++) q[i] = 0.0f;
      for (u32 t = 0; t < T; t++) {
        for (u32 oh = 0; oh < p->oh; oh++) {
          float *G = q + offsets[t] + oh * p->stride * g.width;
          for (u32 o0 = 0; o0 < p->co; o0 += KC) {
            u32 kc = min_u(KC, p->co - o0);
            for (u32 k = 0; k < kc; k++) boff[k] = (i32)((o0 + k) * out_plane(p) + oh * p->ow);
            const float *A = c->io[1] + (o0 * p->ci + c0) * T + t;
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
      for (u32 i = 0; i < cg; i++) unpad_plane(p, &g, q + i * g.size, c->io[2] + (n * p->ci + c0 + i) * in_plane(p));
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
  tap_offsets(p, &g, offsets);
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
        for (u32 i = 0; i < cg; i++) pad_plane(p, &g, c->io[0] + (n * p->ci + c0 + i) * in_plane(p), q + i * g.size);
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
  parallel_for(c, dense_forward_range, p->n, 2.0 * out_plane(p) * p->co * p->ci * taps(p));
}

KERNEL(conv, dense_backward_input) {
  const Params *p = PARAMS(Params);
  parallel_for(c, dense_backward_input_range, p->n, 2.0 * out_plane(p) * p->co * p->ci * taps(p));
}

KERNEL(conv, dense_backward_weight) {
  const Params *p = PARAMS(Params);
  parallel_for(c, dense_backward_weight_range, p->chunks, 2.0 * p->chunk_rows * p->ow * p->co * p->ci * taps(p));
}
