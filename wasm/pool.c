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

// Padding acts as −∞; ties keep the first maximum in scan order, as PyTorch; argmax = kh·k + kw.
static void max_pool_forward_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  i32 k = (i32)p->kernel, H = (i32)p->height, W = (i32)p->width;
  for (u32 plane = lo; plane < hi; plane++) {
    const float *x = c->io[0] + plane * p->height * p->width;
    float *y = c->io[1] + plane * p->out_height * p->out_width;
    float *arg = c->io[2] + plane * p->out_height * p->out_width;
    for (u32 oh = 0; oh < p->out_height; oh++) {
      i32 h0 = (i32)(oh * p->stride) - (i32)p->pad;
      for (u32 ow = 0; ow < p->out_width; ow++) {
        i32 w0 = (i32)(ow * p->stride) - (i32)p->pad;
        float best = 0.0f;
        i32 at = -1;
        for (i32 kh = max_i(0, -h0); kh < min_i(k, H - h0); kh++) {
          for (i32 kw = max_i(0, -w0); kw < min_i(k, W - w0); kw++) {
            float v = x[(h0 + kh) * W + w0 + kw];
            if (at < 0 || v > best) {
              best = v;
              at = kh * k + kw;
            }
          }
        }
        y[oh * p->out_width + ow] = best;
        arg[oh * p->out_width + ow] = (float)at;
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

// Mean over the in-image taps (count_include_pad=False).
static void avg_pool_forward_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  i32 k = (i32)p->kernel, H = (i32)p->height, W = (i32)p->width;
  for (u32 plane = lo; plane < hi; plane++) {
    const float *x = c->io[0] + plane * p->height * p->width;
    float *y = c->io[1] + plane * p->out_height * p->out_width;
    for (u32 oh = 0; oh < p->out_height; oh++) {
      i32 h0 = (i32)(oh * p->stride) - (i32)p->pad;
      for (u32 ow = 0; ow < p->out_width; ow++) {
        i32 w0 = (i32)(ow * p->stride) - (i32)p->pad;
        float acc = 0.0f;
        for (i32 h = max_i(h0, 0); h < min_i(h0 + k, H); h++) {
          for (i32 w = max_i(w0, 0); w < min_i(w0 + k, W); w++) acc += x[h * W + w];
        }
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
