// shaders/pool.wgsl: max and average windows over NCHW planes, and the global average.
// Work items are planes; backward kernels scatter each window's gradient into a zeroed plane in
// window order, so every value is summed in a fixed order.
#include "kernels.h"

typedef struct { u32 total, height, width, out_height, out_width, kernel, stride, pad; } Params;

// In-image taps of the window starting at (h, w): the divisor of count_include_pad=False.
static float taps(const Params *p, i32 h, i32 w) {
  i32 k = (i32)p->kernel;
  i32 rows = min_i(h + k, (i32)p->height) - max_i(h, 0);
  i32 cols = min_i(w + k, (i32)p->width) - max_i(w, 0);
  return (float)(rows * cols);
}

// Forward windows are taken an output row at a time: first each input column's aggregate over the
// window's rows, then each window's over its columns, four windows per f32x4. Comparisons select
// with bit masks: data-dependent branches on random values cost more than the arithmetic.

// The window's columns j < 4 of outputs ow..ow+3: column (ow + j)·stride + kw of a padded row.
static f4 window_column(const float *row, u32 ow, u32 kw, u32 stride) {
  const float *at = row + ow * stride + kw;
  if (stride == 1) return wasm_v128_load(at);
  return wasm_f32x4_make(at[0], at[stride], at[2 * stride], at[3 * stride]);
}

// Padding acts as −∞; ties keep the first maximum in scan order (row, then column), as PyTorch;
// argmax = kh·k + kw. Per column: the largest value and its first row, padding columns (−∞, k) so
// that any real column beats them, as in the WGSL.
static void max_pool_forward_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  i32 k = (i32)p->kernel, H = (i32)p->height, W = (i32)p->width;
  u32 span = p->pad + p->width + p->kernel + 4 * p->stride;
  float best[span], at[span];
  for (u32 i = 0; i < span; i++) {
    best[i] = -INFINITY_F;
    at[i] = (float)k;
  }
  f4 fk = wasm_f32x4_splat((float)k);
  for (u32 plane = lo; plane < hi; plane++) {
    const float *x = c->io[0] + plane * p->height * p->width;
    float *y = c->io[1] + plane * p->out_height * p->out_width;
    float *arg = c->io[2] + plane * p->out_height * p->out_width;
    for (u32 oh = 0; oh < p->out_height; oh++) {
      i32 h0 = (i32)(oh * p->stride) - (i32)p->pad, first = max_i(0, -h0), end = min_i(k, H - h0);
      float *b = best + p->pad, *a = at + p->pad;
      for (i32 w = 0; w < W; w++) {
        b[w] = x[(h0 + first) * W + w];
        a[w] = (float)first;
      }
      for (i32 kh = first + 1; kh < end; kh++) {
        const float *row = x + (h0 + kh) * W;
        f4 r = wasm_f32x4_splat((float)kh);
        i32 w = 0;
        for (; w + 4 <= W; w += 4) {
          f4 v = wasm_v128_load(row + w), m = wasm_v128_load(b + w);
          f4 take = wasm_f32x4_gt(v, m);
          wasm_v128_store(b + w, wasm_v128_bitselect(v, m, take));
          wasm_v128_store(a + w, wasm_v128_bitselect(r, wasm_v128_load(a + w), take));
        }
        for (; w < W; w++) {
          if (row[w] > b[w]) {
            b[w] = row[w];
            a[w] = (float)kh;
          }
        }
      }
      for (u32 ow = 0; ow < p->out_width; ow += 4) {
        f4 v = window_column(best, ow, 0, p->stride), r = window_column(at, ow, 0, p->stride), kw_best = wasm_f32x4_splat(0);
        for (u32 kw = 1; kw < p->kernel; kw++) {
          f4 u = window_column(best, ow, kw, p->stride), ur = window_column(at, ow, kw, p->stride);
          f4 wins = wasm_v128_or(wasm_f32x4_gt(u, v), wasm_v128_and(wasm_f32x4_eq(u, v), wasm_f32x4_lt(ur, r)));
          v = wasm_v128_bitselect(u, v, wins);
          r = wasm_v128_bitselect(ur, r, wins);
          kw_best = wasm_v128_bitselect(wasm_f32x4_splat((float)kw), kw_best, wins);
        }
        float vs[4], as[4];
        wasm_v128_store(vs, v);
        wasm_v128_store(as, wasm_f32x4_add(wasm_f32x4_mul(r, fk), kw_best));
        for (u32 j = 0; j < 4 && ow + j < p->out_width; j++) {
          y[oh * p->out_width + ow + j] = vs[j];
          arg[oh * p->out_width + ow + j] = as[j];
        }
      }
    }
  }
}

// (dy, argmax) → dx: each window's gradient goes to its maximum.
static void max_pool_backward_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  i32 k = (i32)p->kernel, W = (i32)p->width;
  for (u32 plane = lo; plane < hi; plane++) {
    const float *dy = c->io[0] + plane * p->out_height * p->out_width;
    const float *arg = c->io[1] + plane * p->out_height * p->out_width;
    float *dx = c->io[2] + plane * p->height * p->width;
    for (u32 i = 0; i < p->height * p->width; i++) dx[i] = 0.0f;
    for (u32 oh = 0; oh < p->out_height; oh++) {
      i32 h0 = (i32)(oh * p->stride) - (i32)p->pad;
      for (u32 ow = 0; ow < p->out_width; ow++) {
        i32 w0 = (i32)(ow * p->stride) - (i32)p->pad;
        i32 tap = (i32)arg[oh * p->out_width + ow];
        dx[(h0 + tap / k) * W + w0 + tap % k] += dy[oh * p->out_width + ow];
      }
    }
  }
}

// Mean over the in-image taps (count_include_pad=False). Per column: the sum over the window's rows.
static void avg_pool_forward_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  i32 k = (i32)p->kernel, H = (i32)p->height, W = (i32)p->width;
  float sum[W];
  for (u32 plane = lo; plane < hi; plane++) {
    const float *x = c->io[0] + plane * p->height * p->width;
    float *y = c->io[1] + plane * p->out_height * p->out_width;
    for (u32 oh = 0; oh < p->out_height; oh++) {
      i32 h0 = (i32)(oh * p->stride) - (i32)p->pad;
      for (i32 w = 0; w < W; w++) sum[w] = 0.0f;
      for (i32 h = max_i(h0, 0); h < min_i(h0 + k, H); h++) {
        for (i32 w = 0; w < W; w++) sum[w] += x[h * W + w];
      }
      for (u32 ow = 0; ow < p->out_width; ow++) {
        i32 w0 = (i32)(ow * p->stride) - (i32)p->pad;
        float acc = 0.0f;
        for (i32 w = max_i(w0, 0); w < min_i(w0 + k, W); w++) acc += sum[w];
        y[oh * p->out_width + ow] = acc / taps(p, h0, w0);
      }
    }
  }
}

// dy → dx: each window spreads dy / taps over its in-image taps.
static void avg_pool_backward_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  i32 k = (i32)p->kernel, H = (i32)p->height, W = (i32)p->width;
  for (u32 plane = lo; plane < hi; plane++) {
    const float *dy = c->io[0] + plane * p->out_height * p->out_width;
    float *dx = c->io[1] + plane * p->height * p->width;
    for (u32 i = 0; i < p->height * p->width; i++) dx[i] = 0.0f;
    for (u32 oh = 0; oh < p->out_height; oh++) {
      i32 h0 = (i32)(oh * p->stride) - (i32)p->pad;
      for (u32 ow = 0; ow < p->out_width; ow++) {
        i32 w0 = (i32)(ow * p->stride) - (i32)p->pad;
        float d = dy[oh * p->out_width + ow] / taps(p, h0, w0);
        for (i32 h = max_i(h0, 0); h < min_i(h0 + k, H); h++) {
          for (i32 w = max_i(w0, 0); w < min_i(w0 + k, W); w++) dx[h * W + w] += d;
        }
      }
    }
  }
}

static u32 window_cost(const Params *p) { return p->out_height * p->out_width * p->kernel * p->kernel; }

// The 3×3 entry points count output rows (forward) or input rows (backward); the k×k ones count values.
KERNEL(pool, max_pool3_forward) { parallel_for(c, max_pool_forward_range, PARAMS(Params)->total / PARAMS(Params)->out_height, window_cost(PARAMS(Params))); }
KERNEL(pool, max_pool3_backward) { parallel_for(c, max_pool_backward_range, PARAMS(Params)->total / PARAMS(Params)->height, window_cost(PARAMS(Params))); }
KERNEL(pool, avg_pool3_forward) { parallel_for(c, avg_pool_forward_range, PARAMS(Params)->total / PARAMS(Params)->out_height, window_cost(PARAMS(Params))); }
KERNEL(pool, avg_pool3_backward) { parallel_for(c, avg_pool_backward_range, PARAMS(Params)->total / PARAMS(Params)->height, window_cost(PARAMS(Params))); }
KERNEL(pool, avg_pool_forward) {
  const Params *p = PARAMS(Params);
  parallel_for(c, avg_pool_forward_range, p->total / (p->out_height * p->out_width), window_cost(p));
}
KERNEL(pool, avg_pool_backward) {
  const Params *p = PARAMS(Params);
  parallel_for(c, avg_pool_backward_range, p->total / (p->height * p->width), window_cost(p));
}

// (x) → (y [N, C]), items are planes.
static void global_avg_pool_forward_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  u32 size = p->height * p->width;
  for (u32 i = lo; i < hi; i++) {
    const float *x = c->io[0] + i * size;
    float acc = 0.0f;
    for (u32 s = 0; s < size; s++) acc += x[s];
    c->io[1][i] = acc / (float)size;
  }
}

static void global_avg_pool_backward_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  u32 size = p->height * p->width;
  for (u32 i = lo; i < hi; i++) c->io[1][i] = c->io[0][i / size] / (float)size;
}

KERNEL(pool, global_avg_pool_forward) { parallel_for(c, global_avg_pool_forward_range, PARAMS(Params)->total, PARAMS(Params)->height * PARAMS(Params)->width); }
KERNEL(pool, global_avg_pool_backward) { parallel_for(c, global_avg_pool_backward_range, PARAMS(Params)->total, 2); }
