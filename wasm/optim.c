// shaders/optim.wgsl and shaders/clip.wgsl: in-place optimizer updates with PyTorch's semantics,
// and global gradient-norm clipping without a readback.
#include "kernels.h"

typedef struct { u32 n, first; float lr, momentum, weight_decay, beta1, beta2, eps, bc1, bc2_sqrt; } OptimParams;

// SGD, dampening 0: d = g + wd·w; buf = momentum·buf + d (buf = d on the first step); w −= lr·buf.
static void sgd_range(const Call *c, u32 lo, u32 hi) {
  const OptimParams *p = PARAMS(OptimParams);
  const float *grad = c->io[0];
  float *param = c->io[1], *buf = c->io[2];
  for (u32 i = lo; i < hi; i++) {
    float d = grad[i] + p->weight_decay * param[i];
    float step = d;
    if (p->momentum != 0.0f) {
      step = p->first ? d : p->momentum * buf[i] + d;
      buf[i] = step;
    }
    param[i] = param[i] - p->lr * step;
  }
}

// Adam with L2 weight decay added to the gradient (not decoupled), as torch.optim.Adam.
static void adam_range(const Call *c, u32 lo, u32 hi) {
  const OptimParams *p = PARAMS(OptimParams);
  const float *grad = c->io[0];
  float *param = c->io[1], *m1 = c->io[2], *m2 = c->io[3];
  for (u32 i = lo; i < hi; i++) {
    float g = grad[i] + p->weight_decay * param[i];
    float m = p->beta1 * m1[i] + (1.0f - p->beta1) * g;
    float v = p->beta2 * m2[i] + (1.0f - p->beta2) * g * g;
    m1[i] = m;
    m2[i] = v;
    float denom = sqrt_f(v) / p->bc2_sqrt + p->eps;
    param[i] = param[i] - (p->lr / p->bc1) * m / denom;
  }
}

KERNEL(optim, sgd) { parallel_for(c, sgd_range, PARAMS(OptimParams)->n, 4); }
KERNEL(optim, adam) { parallel_for(c, adam_range, PARAMS(OptimParams)->n, 12); }

typedef struct { u32 n, count; float max_norm; } ClipParams;

// (squares) → ([total norm, clip coefficient]); the coefficient max_norm / (norm + 1e-6) only when < 1.
KERNEL(clip, clip_coef) {
  const ClipParams *p = PARAMS(ClipParams);
  float total = 0.0f;
  for (u32 i = 0; i < p->count; i++) total += c->io[0][i];
  float norm = sqrt_f(total);
  float coef = p->max_norm / (norm + 1e-6f);
  c->io[1][0] = norm;
  c->io[1][1] = coef < 1.0f ? coef : 1.0f;
}

static void scale_by_coef_range(const Call *c, u32 lo, u32 hi) {
  float coef = c->io[0][1];
  for (u32 i = lo; i < hi; i++) c->io[1][i] *= coef;
}

KERNEL(clip, scale_by_coef) { parallel_for(c, scale_by_coef_range, PARAMS(ClipParams)->n, 1); }
