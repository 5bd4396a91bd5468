// shaders/reduce.wgsl: row sums, column sums, and a scalar spread over a vector.
#include "kernels.h"

typedef struct { u32 rows, cols, square, out_offset, limit; float s; } Params;

// Sum of x[0..n) (or of its squares) in a fixed order: four interleaved partial sums, then a tree.
static float sum_values(const float *x, u32 n, int square) {
  float a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  u32 i = 0;
  for (; i + 4 <= n; i += 4) {
    float v0 = x[i], v1 = x[i + 1], v2 = x[i + 2], v3 = x[i + 3];
    if (square) { v0 *= v0; v1 *= v1; v2 *= v2; v3 *= v3; }
    a0 += v0; a1 += v1; a2 += v2; a3 += v3;
  }
  for (; i < n; i++) a0 += square ? x[i] * x[i] : x[i];
  return (a0 + a1) + (a2 + a3);
}

// The last row of a chunked vector may be short: values stop at `limit`.
static void sum_rows_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  for (u32 r = lo; r < hi; r++) {
    u32 base = r * p->cols;
    u32 n = base >= p->limit ? 0 : min_u(p->cols, p->limit - base);
    c->io[1][p->out_offset + r] = sum_values(c->io[0] + base, n, p->square != 0) * p->s;
  }
}

KERNEL(reduce, sum_rows) { parallel_for(c, sum_rows_range, PARAMS(Params)->rows, PARAMS(Params)->cols); }

// Column sums of [rows, cols], each column added top to bottom.
static void sum_cols_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  const float *x = c->io[0];
  float *out = c->io[1];
  for (u32 j = lo; j < hi; j++) out[j] = 0.0f;
  for (u32 r = 0; r < p->rows; r++) {
    const float *row = x + r * p->cols;
    for (u32 j = lo; j < hi; j++) out[j] += row[j];
  }
  for (u32 j = lo; j < hi; j++) out[j] *= p->s;
}

KERNEL(reduce, sum_cols) { parallel_for(c, sum_cols_range, PARAMS(Params)->cols, PARAMS(Params)->rows); }

static void broadcast_scalar_range(const Call *c, u32 lo, u32 hi) {
  float v = c->io[0][0] * PARAMS(Params)->s;
  for (u32 i = lo; i < hi; i++) c->io[1][i] = v;
}

KERNEL(reduce, broadcast_scalar) { parallel_for(c, broadcast_scalar_range, PARAMS(Params)->rows, 1); }
