// shaders/elementwise.wgsl: one work item per value.
#include "kernels.h"

typedef struct { u32 n, cols; float s; } Params;

#define ELEMENTWISE(entry, body)                                \
  static void entry##_range(const Call *c, u32 lo, u32 hi) {    \
    const Params *p = PARAMS(Params);                           \
    (void)p;                                                    \
    for (u32 i = lo; i < hi; i++) { body; }                     \
  }                                                             \
  KERNEL(elementwise, entry) { parallel_for(c, entry##_range, PARAMS(Params)->n, 1); }

ELEMENTWISE(fill, c->io[0][i] = p->s)
ELEMENTWISE(copy, c->io[1][i] = c->io[0][i])
ELEMENTWISE(scale, c->io[1][i] = c->io[0][i] * p->s)
// out += s * a, in place: gradient accumulation.
ELEMENTWISE(axpy, c->io[1][i] = c->io[1][i] + p->s * c->io[0][i])
ELEMENTWISE(add, c->io[2][i] = c->io[0][i] + c->io[1][i])
ELEMENTWISE(mul, c->io[2][i] = c->io[0][i] * c->io[1][i])
// NaN passes through, as PyTorch's relu lets it (a diverging run must still show NaN).
ELEMENTWISE(relu_forward, float a = c->io[0][i]; c->io[1][i] = a < 0.0f ? 0.0f : a)
ELEMENTWISE(relu_backward, c->io[2][i] = c->io[0][i] > 0.0f ? c->io[1][i] : 0.0f)
ELEMENTWISE(add_bias, c->io[2][i] = c->io[0][i] + c->io[1][i % p->cols])
ELEMENTWISE(slice_forward, c->io[1][i] = c->io[0][p->cols + i])
// out (length n) is g (length s) placed at offset cols, zero elsewhere.
ELEMENTWISE(slice_backward, {
  u32 len = (u32)p->s;
  c->io[1][i] = (i >= p->cols && i - p->cols < len) ? c->io[0][i - p->cols] : 0.0f;
})
