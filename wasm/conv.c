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
// phase planes of `rows` × `width` floats; width leaves room to read whole 8-float blocks.
typedef struct {
  u32 rows, cols, width, phase, size;
} Padded;

static Padded padded(const Params *p) {
  Padded g;
  g.rows = (p->oh - 1) * p->stride + (p->kh - 1) * p->dil + 1;
  g.cols = (p->ow - 1) * p->stride + (p->kw - 1) * p->dil + 1;
  u32 reach = (p->kw - 1) * p->dil / p->stride + round_up(p->ow, TILE_N);
  g.width = round_up(max_u(ceil_div_u(g.cols, p->stride), reach), 4);
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

// Copies one input plane into its padded form.
static void pad_plane(const Params *p, const Padded *g, const float *x, float *q) {
  for (u32 i = 0; i < g->size; i++) q[i] = 0.0f;
  for (u32 r = 0; r < g->rows; r++) {
    i32 ih = physical(p, r, p->top);
    if (ih < (i32)p->top || ih >= (i32)p->h) continue;
    const float *row = x + ih * (i32)p->w;
    for (u32 ph = 0; ph < p->stride; ph++) {
      float *dst = q + ph * g->phase + r * g->width;
      for (u32 j = 0, col = ph; col < g->cols; j++, col += p->stride) {
        i32 iw = physical(p, col, p->left);
        if (iw >= (i32)p->left && iw < (i32)p->w) dst[j] = row[iw];
      }
    }
  }
}

// The inverse for gradients: dx[ih, iw] = the padded value at its position, zero where no
// output reads it and over the cropped-away border.
static void unpad_plane(const Params *p, const Padded *g, const float *q, float *dx) {
  for (u32 ih = 0; ih < p->h; ih++) {
    float *row = dx + ih * p->w;
    i32 r = (i32)ih + (i32)p->pad - (i32)p->top;
    int real_row = ih >= p->top && r < (i32)g->rows;
    for (u32 iw = 0; iw < p->w; iw++) {
      i32 col = (i32)iw + (i32)p->pad - (i32)p->left;
      int real = real_row && iw >= p->left && col < (i32)g->cols;
      row[iw] = real ? q[(u32)col % p->stride * g->phase + (u32)r * g->width + (u32)col / p->stride] : 0.0f;
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

// (dy, w) → dx; items are planes. Each output's gradient is spread over its taps in the padded
// plane, in (oh, ow, tap) order, then the plane is unpadded.
static void dw_backward_input_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  Padded g = padded(p);
  float q[g.size] __attribute__((aligned(16)));
  i32 offsets[taps(p)];
  tap_offsets(p, &g, offsets);
  u32 full = p->ow / 4 * 4;
  for (u32 plane = lo; plane < hi; plane++) {
    const float *w = c->io[1] + (plane % p->ci) * taps(p);
    const float *dy = c->io[0] + plane * out_plane(p);
    for (u32 i = 0; i < g.size; i++) q[i] = 0.0f;
    for (u32 oh = 0; oh < p->oh; oh++) {
      float *base = q + oh * p->stride * g.width;
      const float *d = dy + oh * p->ow;
      for (u32 ow = 0; ow < full; ow += 4) {
        f4 dv = wasm_v128_load(d + ow);
        for (u32 t = 0; t < taps(p); t++) {
          float *dst = base + offsets[t] + ow;
          wasm_v128_store(dst, wasm_f32x4_add(wasm_v128_load(dst), wasm_f32x4_mul(wasm_v128_load32_splat(w + t), dv)));
        }
      }
      for (u32 ow = full; ow < p->ow; ow++) {
        for (u32 t = 0; t < taps(p); t++) base[offsets[t] + ow] += w[t] * d[ow];
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

// (x, dy) → partial[chunk, c·KH·KW + tap]; items are (chunk, channel). Each dy vector meets every
// tap while it is loaded; the per-tap sums run over the chunk's rows in order.
static void dw_backward_weight_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  Padded g = padded(p);
  float q[g.size] __attribute__((aligned(16)));
  u32 T = taps(p);
  i32 offsets[T];
  tap_offsets(p, &g, offsets);
  f4 acc[T];
  float tail[T];
  u32 full = p->ow / 4 * 4;
  for (u32 item = lo; item < hi; item++) {
    u32 chunk = item / p->ci, ch = item % p->ci, first, end;
    chunk_rows(p, chunk, &first, &end);
    for (u32 t = 0; t < T; t++) {
      acc[t] = wasm_f32x4_splat(0);
      tail[t] = 0.0f;
    }
    for (u32 row = first; row < end;) {
      u32 n = row / p->oh, plane = n * p->ci + ch, stop = min_u(end, (n + 1) * p->oh);
      pad_plane(p, &g, c->io[0] + plane * in_plane(p), q);
      for (; row < stop; row++) {
        u32 oh = row % p->oh;
        const float *d = c->io[1] + plane * out_plane(p) + oh * p->ow, *base = q + oh * p->stride * g.width;
        for (u32 ow = 0; ow < full; ow += 4) {
          f4 dv = wasm_v128_load(d + ow);
          for (u32 t = 0; t < T; t++) acc[t] = wasm_f32x4_add(acc[t], wasm_f32x4_mul(dv, wasm_v128_load(base + offsets[t] + ow)));
        }
        for (u32 ow = full; ow < p->ow; ow++) {
          for (u32 t = 0; t < T; t++) tail[t] += d[ow] * base[offsets[t] + ow];
        }
      }
    }
    float *out = c->io[2] + chunk * p->ci * T + ch * T;
    for (u32 t = 0; t < T; t++) out[t] = hsum(acc[t]) + tail[t];
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

// (x, dy) → partial[chunk, (o·I + i)·KH·KW + tap]; items are (chunk, input channel). Per output
// row: k = the row's pixels, A = dy rows (output channels), B = a packed panel of 8 taps of the
// padded input plane, summed row after row straight into the chunk's partial.
static void dense_backward_weight_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  Padded g = padded(p);
  u32 T = taps(p);
  float q[g.size] __attribute__((aligned(16)));
  float panel[KC * TILE_N] __attribute__((aligned(16)));
  i32 offsets[T], prow[KC];
  tap_offsets(p, &g, offsets);
  packed_rows(KC, prow);
  for (u32 item = lo; item < hi; item++) {
    u32 chunk = item / p->ci, i = item % p->ci, first, end;
    chunk_rows(p, chunk, &first, &end);
    float *out = c->io[2] + chunk * p->co * p->ci * T + i * T;
    int add = 0;
    for (u32 row = first; row < end;) {
      u32 n = row / p->oh, stop = min_u(end, (n + 1) * p->oh);
      pad_plane(p, &g, c->io[0] + (n * p->ci + i) * in_plane(p), q);
      for (; row < stop; row++, add = 1) {
        u32 oh = row % p->oh;
        const float *A = c->io[1] + (n * p->co * p->oh + oh) * p->ow, *base = q + oh * p->stride * g.width;
        for (u32 t0 = 0; t0 < T; t0 += TILE_N) {
          u32 nr = min_u(TILE_N, T - t0);
          for (u32 k0 = 0; k0 < p->ow; k0 += KC) {
            u32 kc = min_u(KC, p->ow - k0);
            for (u32 k = 0; k < kc; k++) {
              for (u32 j = 0; j < TILE_N; j++) panel[k * TILE_N + j] = j < nr ? base[offsets[t0 + j] + k0 + k] : 0.0f;
            }
            for (u32 o = 0; o < p->co; o += TILE_M) {
              tile(kc, A + o * out_plane(p) + k0, out_plane(p), 1, panel, prow, out + o * p->ci * T + t0, p->ci * T,
                   min_u(TILE_M, p->co - o), nr, add || k0 > 0);
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
  parallel_for(c, dense_backward_weight_range, p->chunks * p->ci, 2.0 * p->chunk_rows * p->ow * p->co * taps(p));
}
