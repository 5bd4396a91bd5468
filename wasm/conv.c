// shaders/conv.wgsl: depthwise and dense 2-D convolutions over NCHW, PyTorch's bias-free
// cross-correlation, on an input that may be cropped to x[:, :, top:, left:]:
//   y[n, o, oh, ow] = Σ w[o, i, kh, kw] · x[n, i, oh·s − pad + kh·d + top, ow·s − pad + kw·d + left]
// with x zero outside rows [top, H) and columns [left, W). Weight gradients are partial sums over
// chunks of `chunk_rows` (n, oh) rows, partial[chunk, weight], added in order by reduce/sum_cols.
#include "kernels.h"

typedef struct {
  u32 n, ci, co, chunk_rows;
  u32 h, w, oh, ow;
  u32 kh, kw, stride, dil;
  u32 pad, top, left, chunks;
} Params;

// Physical input row (or column) that output index o reads through tap k.
static i32 src(const Params *p, u32 o, u32 k, u32 first) { return (i32)(o * p->stride + k * p->dil + first) - (i32)p->pad; }

// x[plane] at output (oh, ow) through tap (kh, kw), zero in the padding and the cropped border.
static float tap_value(const Params *p, const float *plane, u32 oh, u32 ow, u32 kh, u32 kw) {
  i32 ih = src(p, oh, kh, p->top), iw = src(p, ow, kw, p->left);
  if (ih < (i32)p->top || ih >= (i32)p->h || iw < (i32)p->left || iw >= (i32)p->w) return 0.0f;
  return plane[ih * (i32)p->w + iw];
}

// dx[plane] += wt · dy at output (oh, ow) through tap (kh, kw), when that reads a real input value.
static void scatter_tap(const Params *p, float *plane, u32 oh, u32 ow, u32 kh, u32 kw, float v) {
  i32 ih = src(p, oh, kh, p->top), iw = src(p, ow, kw, p->left);
  if (ih < (i32)p->top || ih >= (i32)p->h || iw < (i32)p->left || iw >= (i32)p->w) return;
  plane[ih * (i32)p->w + iw] += v;
}

static u32 taps(const Params *p) { return p->kh * p->kw; }
static u32 in_plane(const Params *p) { return p->h * p->w; }
static u32 out_plane(const Params *p) { return p->oh * p->ow; }

// ---- Depthwise: weight [C, 1, KH, KW], p->ci = p->co = C.

// (x, w) → y; items are planes (n, c).
static void dw_forward_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  for (u32 plane = lo; plane < hi; plane++) {
    const float *x = c->io[0] + plane * in_plane(p), *w = c->io[1] + (plane % p->ci) * taps(p);
    float *y = c->io[2] + plane * out_plane(p);
    for (u32 oh = 0; oh < p->oh; oh++) {
      for (u32 ow = 0; ow < p->ow; ow++) {
        float acc = 0.0f;
        for (u32 kh = 0; kh < p->kh; kh++) {
          for (u32 kw = 0; kw < p->kw; kw++) acc += w[kh * p->kw + kw] * tap_value(p, x, oh, ow, kh, kw);
        }
        y[oh * p->ow + ow] = acc;
      }
    }
  }
}

// (dy, w) → dx; items are planes.
static void dw_backward_input_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  for (u32 plane = lo; plane < hi; plane++) {
    const float *dy = c->io[0] + plane * out_plane(p), *w = c->io[1] + (plane % p->ci) * taps(p);
    float *dx = c->io[2] + plane * in_plane(p);
    for (u32 i = 0; i < in_plane(p); i++) dx[i] = 0.0f;
    for (u32 oh = 0; oh < p->oh; oh++) {
      for (u32 ow = 0; ow < p->ow; ow++) {
        for (u32 kh = 0; kh < p->kh; kh++) {
          for (u32 kw = 0; kw < p->kw; kw++) scatter_tap(p, dx, oh, ow, kh, kw, w[kh * p->kw + kw] * dy[oh * p->ow + ow]);
        }
      }
    }
  }
}

// The (n, oh) rows [first, end) of a chunk.
static void chunk_rows(const Params *p, u32 chunk, u32 *first, u32 *end) {
  *first = chunk * p->chunk_rows;
  *end = min_u(p->n * p->oh, *first + p->chunk_rows);
}

// (x, dy) → partial[chunk, c·KH·KW + tap]; items are (chunk, channel).
static void dw_backward_weight_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  for (u32 item = lo; item < hi; item++) {
    u32 chunk = item / p->ci, ch = item % p->ci, first, end;
    chunk_rows(p, chunk, &first, &end);
    float *out = c->io[2] + chunk * p->ci * taps(p) + ch * taps(p);
    for (u32 t = 0; t < taps(p); t++) {
      float acc = 0.0f;
      for (u32 row = first; row < end; row++) {
        u32 n = row / p->oh, oh = row % p->oh, plane = n * p->ci + ch;
        const float *x = c->io[0] + plane * in_plane(p), *dy = c->io[1] + plane * out_plane(p) + oh * p->ow;
        for (u32 ow = 0; ow < p->ow; ow++) acc += dy[ow] * tap_value(p, x, oh, ow, t / p->kw, t % p->kw);
      }
      out[t] = acc;
    }
  }
}

KERNEL(conv, dw_forward) {
  const Params *p = PARAMS(Params);
  parallel_for(c, dw_forward_range, p->n * p->ci, 2 * out_plane(p) * taps(p));
}

KERNEL(conv, dw_backward_input) {
  const Params *p = PARAMS(Params);
  parallel_for(c, dw_backward_input_range, p->n * p->ci, 2 * out_plane(p) * taps(p));
}

KERNEL(conv, dw_backward_weight) {
  const Params *p = PARAMS(Params);
  parallel_for(c, dw_backward_weight_range, p->chunks * p->ci, 2 * p->chunk_rows * p->ow * taps(p));
}

// ---- Dense: weight [O, I, KH, KW], p->ci = I, p->co = O.

// (x, w) → y; items are output planes (n, o).
static void dense_forward_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  for (u32 plane = lo; plane < hi; plane++) {
    u32 n = plane / p->co, o = plane % p->co;
    float *y = c->io[2] + plane * out_plane(p);
    for (u32 oh = 0; oh < p->oh; oh++) {
      for (u32 ow = 0; ow < p->ow; ow++) {
        float acc = 0.0f;
        for (u32 i = 0; i < p->ci; i++) {
          const float *x = c->io[0] + (n * p->ci + i) * in_plane(p), *w = c->io[1] + (o * p->ci + i) * taps(p);
          for (u32 kh = 0; kh < p->kh; kh++) {
            for (u32 kw = 0; kw < p->kw; kw++) acc += w[kh * p->kw + kw] * tap_value(p, x, oh, ow, kh, kw);
          }
        }
        y[oh * p->ow + ow] = acc;
      }
    }
  }
}

// (dy, w) → dx; items are input planes (n, i).
static void dense_backward_input_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  for (u32 plane = lo; plane < hi; plane++) {
    u32 n = plane / p->ci, i = plane % p->ci;
    float *dx = c->io[2] + plane * in_plane(p);
    for (u32 s = 0; s < in_plane(p); s++) dx[s] = 0.0f;
    for (u32 o = 0; o < p->co; o++) {
      const float *dy = c->io[0] + (n * p->co + o) * out_plane(p), *w = c->io[1] + (o * p->ci + i) * taps(p);
      for (u32 oh = 0; oh < p->oh; oh++) {
        for (u32 ow = 0; ow < p->ow; ow++) {
          for (u32 kh = 0; kh < p->kh; kh++) {
            for (u32 kw = 0; kw < p->kw; kw++) scatter_tap(p, dx, oh, ow, kh, kw, w[kh * p->kw + kw] * dy[oh * p->ow + ow]);
          }
        }
      }
    }
  }
}

// (x, dy) → partial[chunk, (o·I + i)·KH·KW + tap]; items are (chunk, input channel).
static void dense_backward_weight_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  for (u32 item = lo; item < hi; item++) {
    u32 chunk = item / p->ci, i = item % p->ci, first, end;
    chunk_rows(p, chunk, &first, &end);
    for (u32 o = 0; o < p->co; o++) {
      float *out = c->io[2] + chunk * p->co * p->ci * taps(p) + (o * p->ci + i) * taps(p);
      for (u32 t = 0; t < taps(p); t++) {
        float acc = 0.0f;
        for (u32 row = first; row < end; row++) {
          u32 n = row / p->oh, oh = row % p->oh;
          const float *x = c->io[0] + (n * p->ci + i) * in_plane(p);
          const float *dy = c->io[1] + (n * p->co + o) * out_plane(p) + oh * p->ow;
          for (u32 ow = 0; ow < p->ow; ow++) acc += dy[ow] * tap_value(p, x, oh, ow, t / p->kw, t % p->kw);
        }
        out[t] = acc;
      }
    }
  }
}

KERNEL(conv, dense_forward) {
  const Params *p = PARAMS(Params);
  parallel_for(c, dense_forward_range, p->n * p->co, 2 * out_plane(p) * p->ci * taps(p));
}

KERNEL(conv, dense_backward_input) {
  const Params *p = PARAMS(Params);
  parallel_for(c, dense_backward_input_range, p->n * p->ci, 2 * out_plane(p) * p->co * taps(p));
}

KERNEL(conv, dense_backward_weight) {
  const Params *p = PARAMS(Params);
  parallel_for(c, dense_backward_weight_range, p->chunks * p->ci, 2 * p->chunk_rows * p->ow * p->co * taps(p));
}
