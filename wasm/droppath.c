// shaders/droppath.wgsl: (x, mask) → x · mask[sample].
#include "kernels.h"

typedef struct { u32 total, per_sample; } Params;

static void scale_samples_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  const float *x = c->io[0], *mask = c->io[1];
  float *out = c->io[2];
  for (u32 i = lo; i < hi; i++) out[i] = x[i] * mask[i / p->per_sample];
}

KERNEL(droppath, scale_samples) { parallel_for(c, scale_samples_range, PARAMS(Params)->total, 2); }
