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
// Selects by bit mask, four at a time: V8 turns a float select into a branch, which random signs
// mispredict half the time. NaN passes through relu, as PyTorch's does (a diverging run must show NaN).
#define MASKED(entry, vector, scalar)                                                     \
  static void entry##_range(const Call *c, u32 lo, u32 hi) {                              \
    const float *a = c->io[0], *b = c->io[1];                                             \
    float *out = c->io[entry##_out];                                                      \
    (void)b;                                                                              \
    u32 i = lo;                                                                           \
    for (; i + 4 <= hi; i += 4) {                                                         \
      f4 va = wasm_v128_load(a + i), zero = wasm_f32x4_splat(0);                          \
      (void)zero;                                                                         \
      wasm_v128_store(out + i, vector);                                                   \
    }                                                                                     \
    for (; i < hi; i++) out[i] = scalar;                                                  \
  }                                                                                       \
  KERNEL(elementwise, entry) { parallel_for(c, entry##_range, PARAMS(Params)->n, 1); }

enum { relu_forward_out = 1, relu_backward_out = 2 };
MASKED(relu_forward, wasm_v128_andnot(va, wasm_f32x4_lt(va, zero)), a[i] < 0.0f ? 0.0f : a[i])
MASKED(relu_backward, wasm_v128_and(wasm_v128_load(b + i), wasm_f32x4_gt(va, zero)), a[i] > 0.0f ? b[i] : 0.0f)
ELEMENTWISE(add_bias, c->io[2][i] = c->io[0][i] + c->io[1][i % p->cols])
ELEMENTWISE(slice_forward, c->io[1][i] = c->io[0][p->cols + i])
// out (length n) is g (length s) placed at offset cols, zero elsewhere.
ELEMENTWISE(slice_backward, {
  u32 len = (u32)p->s;
  c->io[1][i] = (i >= p->cols && i - p->cols < len) ? c->io[0][i - p->cols] : 0.0f;
})
