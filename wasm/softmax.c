// shaders/softmax.wgsl: row softmax and softmax cross-entropy, one work item per row.
#include "kernels.h"

typedef struct { u32 rows, cols; float s; } Params;

static float row_max(const float *x, u32 cols) {
  float m = x[0];
  for (u32 j = 1; j < cols; j++) m = x[j] > m ? x[j] : m;
  return m;
}

static float row_sum_exp(const float *x, u32 cols, float m) {
  float s = 0.0f;
  for (u32 j = 0; j < cols; j++) s += exp_f(x[j] - m);
  return s;
}

static void softmax_forward_range(const Call *c, u32 lo, u32 hi) {
  u32 cols = PARAMS(Params)->cols;
  for (u32 r = lo; r < hi; r++) {
    const float *x = c->io[0] + r * cols;
    float *out = c->io[1] + r * cols;
    float m = row_max(x, cols);
    float inv = 1.0f / row_sum_exp(x, cols, m);
    for (u32 j = 0; j < cols; j++) out[j] = exp_f(x[j] - m) * inv;
  }
}

// (y, g) → dx = y · (g − Σ g·y).
static void softmax_backward_range(const Call *c, u32 lo, u32 hi) {
  u32 cols = PARAMS(Params)->cols;
  for (u32 r = lo; r < hi; r++) {
    const float *y = c->io[0] + r * cols, *g = c->io[1] + r * cols;
    float *dx = c->io[2] + r * cols;
    float dot = 0.0f;
    for (u32 j = 0; j < cols; j++) dot += y[j] * g[j];
    for (u32 j = 0; j < cols; j++) dx[j] = y[j] * (g[j] - dot);
  }
}

// (logits, labels) → (row loss, softmax): loss = logsumexp − logit of the label.
static void cross_entropy_forward_range(const Call *c, u32 lo, u32 hi) {
  u32 cols = PARAMS(Params)->cols;
  for (u32 r = lo; r < hi; r++) {
    const float *x = c->io[0] + r * cols;
    float *probs = c->io[3] + r * cols;
    float m = row_max(x, cols);
    float s = row_sum_exp(x, cols, m);
    u32 label = (u32)c->io[1][r];
    c->io[2][r] = log_f(s) + m - x[label];
    float inv = 1.0f / s;
    for (u32 j = 0; j < cols; j++) probs[j] = exp_f(x[j] - m) * inv;
  }
}

// (softmax, labels, g) → dlogits = (softmax − onehot) · g[0] · s.
static void cross_entropy_backward_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  u32 cols = p->cols;
  float scale = c->io[2][0] * p->s;
  for (u32 r = lo; r < hi; r++) {
    const float *probs = c->io[0] + r * cols;
    float *d = c->io[3] + r * cols;
    u32 label = (u32)c->io[1][r];
    for (u32 j = 0; j < cols; j++) d[j] = (probs[j] - (j == label ? 1.0f : 0.0f)) * scale;
  }
}

KERNEL(softmax, softmax_forward) { parallel_for(c, softmax_forward_range, PARAMS(Params)->rows, 20 * PARAMS(Params)->cols); }
KERNEL(softmax, softmax_backward) { parallel_for(c, softmax_backward_range, PARAMS(Params)->rows, 4 * PARAMS(Params)->cols); }
KERNEL(softmax, cross_entropy_forward) { parallel_for(c, cross_entropy_forward_range, PARAMS(Params)->rows, 40 * PARAMS(Params)->cols); }
KERNEL(softmax, cross_entropy_backward) { parallel_for(c, cross_entropy_backward_range, PARAMS(Params)->rows, 2 * PARAMS(Params)->cols); }
