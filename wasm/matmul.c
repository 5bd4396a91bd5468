// shaders/matmul.wgsl: batched strided GEMM, C[b, m, n] (+)= Σ_k A(b, m, k)·B(b, k, n), with
// k = ko·KI + ki running over two strided axes.
#include "kernels.h"

typedef struct {
  u32 M, N, KI, KO;
  u32 a_b, a_m, a_ki, a_ko;
  u32 b_b, b_k, b_n, b_ko;
  u32 c_b, c_m, accumulate, pad0;
} Params;

// Items are rows (batch, m).
static void gemm_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  const float *A = c->io[0], *B = c->io[1];
  float *C = c->io[2];
  for (u32 row = lo; row < hi; row++) {
    u32 batch = row / p->M, m = row % p->M;
    float *out = C + batch * p->c_b + m * p->c_m;
    for (u32 n = 0; n < p->N; n++) {
      float acc = 0.0f;
      for (u32 ko = 0; ko < p->KO; ko++) {
        const float *a = A + batch * p->a_b + m * p->a_m + ko * p->a_ko;
        const float *b = B + batch * p->b_b + n * p->b_n + ko * p->b_ko;
        for (u32 ki = 0; ki < p->KI; ki++) acc += a[ki * p->a_ki] * b[ki * p->b_k];
      }
      out[n] = p->accumulate ? out[n] + acc : acc;
    }
  }
}

KERNEL(matmul, gemm) {
  const Params *p = PARAMS(Params);
  u32 batches = c->threads[2];
  parallel_for(c, gemm_range, batches * p->M, 2 * p->N * p->KI * p->KO);
}
