// shaders/batchnorm.wgsl: BatchNorm2d over NCHW. The two-stage per-channel sums keep the WGSL's
// meaning of each stage's buffers: chunk j of channel c holds the values at s ≡ j (mod chunks) of
// every image's plane, and the second stage merges the chunks in order.
#include "kernels.h"

typedef struct { u32 total, channels, plane, batch, chunks, training; float eps, momentum; } Params;

typedef struct { float x, y; } f2;
typedef struct { float x, y, z, w; } f4s;

static float chunk_count(const Params *p, u32 j) {
  return (float)(p->batch * ((p->plane - j + p->chunks - 1) / p->chunks));
}

static float values_per_channel(const Params *p) { return (float)(p->batch * p->plane); }

// Moments are of x − shift, shift = the channel's first value (rounding stays relative to the spread).
static float shift_of(const Call *c, const Params *p, u32 ch) { return c->io[0][ch * p->plane]; }

// The items of a range, (channel, chunk) pairs, go a channel's span of chunks [j0, j1) at a time.
// Chunks j0..j1−1 are neighbouring floats of every block of `chunks` values in a plane, so a span is
// read block by block, image by image, with its sums in local arrays: every load is contiguous (a
// chunk at a time would touch a new cache line per value), and each chunk still adds its values in
// the order a lone chunk would (image by image, then along the plane).
typedef struct { u32 ch, j0, n; } Span;

static Span span_at(const Params *p, u32 t, u32 hi) {
  u32 ch = t / p->chunks, j0 = t % p->chunks;
  return (Span){ ch, j0, min_u(p->chunks - j0, hi - t) };
}

// acc[j] += f(x[s], aux[j]) over the span's values s ≡ j0 + j (mod chunks) of every image's plane,
// with f = x − a − aux (square: its square); lanes past the plane's end are never read.
static void span_sums(const Params *p, const float *x, Span sp, float a, const float *aux, int square, float *acc) {
  f4 va = wasm_f32x4_splat(a);
  for (u32 n = 0; n < p->batch; n++) {
    const float *plane = x + (n * p->channels + sp.ch) * p->plane;
    for (u32 block = 0; block + sp.j0 < p->plane; block += p->chunks) {
      const float *v = plane + block + sp.j0;
      u32 m = min_u(sp.n, p->plane - block - sp.j0), j = 0;
      for (; j + 4 <= m; j += 4) {
        f4 d = wasm_f32x4_sub(wasm_f32x4_sub(wasm_v128_load(v + j), va), wasm_v128_load(aux + j));
        wasm_v128_store(acc + j, wasm_f32x4_add(wasm_v128_load(acc + j), square ? wasm_f32x4_mul(d, d) : d));
      }
      for (; j < m; j++) {
        float d = (v[j] - a) - aux[j];
        acc[j] += square ? d * d : d;
      }
    }
  }
}

// (x) → (chunk moments [C, chunks] of (mean, M2)); items are (channel, chunk).
static void bn_moments_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  f2 *out = (f2 *)c->io[1];
  for (u32 t = lo; t < hi;) {
    Span sp = span_at(p, t, hi);
    float shift = shift_of(c, p, sp.ch);
    float mean[sp.n] __attribute__((aligned(16))), m2[sp.n] __attribute__((aligned(16)));
    for (u32 j = 0; j < sp.n; j++) mean[j] = m2[j] = 0.0f;
    span_sums(p, c->io[0], sp, shift, m2 /* zeros yet: Σ x − shift */, 0, mean);
    for (u32 j = 0; j < sp.n; j++) mean[j] /= chunk_count(p, sp.j0 + j);
    span_sums(p, c->io[0], sp, shift, mean, 1, m2);
    for (u32 j = 0; j < sp.n; j++) out[t + j] = (f2){ mean[j], m2[j] };
    t += sp.n;
  }
}

KERNEL(batchnorm, bn_moments) {
  const Params *p = PARAMS(Params);
  parallel_for(c, bn_moments_range, p->channels * p->chunks, 3 * p->batch * p->plane / p->chunks);
}

// Chan et al.'s pairwise merge of the chunks' (mean, M2) in order: the channel's mean and Σ(x − mean)².
static f2 channel_moments(const Call *c, const Params *p, u32 ch) {
  const f2 *chunks = (const f2 *)c->io[1] + ch * p->chunks;
  float count = 0.0f, mean = 0.0f, m2 = 0.0f;
  for (u32 j = 0; j < p->chunks; j++) {
    float n = chunk_count(p, j);
    float total = count + n;
    float delta = chunks[j].x - mean;
    mean += delta * (n / total);
    m2 += chunks[j].y + delta * delta * (count * n / total);
    count = total;
  }
  return (f2){ shift_of(c, p, ch) + mean, m2 };
}

// (mean, 1 / sqrt(biased variance + eps))
static f2 batch_stats(const Params *p, f2 moments) {
  return (f2){ moments.x, 1.0f / sqrt_f(moments.y / values_per_channel(p) + p->eps) };
}

// (x, chunk moments) → (stats)
KERNEL(batchnorm, bn_stats) {
  const Params *p = PARAMS(Params);
  f2 *stats = (f2 *)c->io[2];
  for (u32 ch = 0; ch < p->channels; ch++) stats[ch] = batch_stats(p, channel_moments(c, p, ch));
}

// (x, chunk moments) → (stats, running mean, running variance), PyTorch's running update with the
// unbiased variance.
KERNEL(batchnorm, bn_stats_running) {
  const Params *p = PARAMS(Params);
  f2 *stats = (f2 *)c->io[2];
  float *running_mean = c->io[3], *running_var = c->io[4];
  for (u32 ch = 0; ch < p->channels; ch++) {
    f2 moments = channel_moments(c, p, ch);
    stats[ch] = batch_stats(p, moments);
    float unbiased = moments.y / (values_per_channel(p) - 1.0f);
    running_mean[ch] = (1.0f - p->momentum) * running_mean[ch] + p->momentum * moments.x;
    running_var[ch] = (1.0f - p->momentum) * running_var[ch] + p->momentum * unbiased;
  }
}

// (running mean, running variance) → (stats)
KERNEL(batchnorm, bn_running_stats) {
  const Params *p = PARAMS(Params);
  f2 *stats = (f2 *)c->io[2];
  for (u32 ch = 0; ch < p->channels; ch++) stats[ch] = (f2){ c->io[0][ch], 1.0f / sqrt_f(c->io[1][ch] + p->eps) };
}

// Items are planes (n, c): the channel's statistics are fixed along the plane.
// (x, stats) → (y), or (x, stats, γ, β) → (y) when affine.
static void normalize_planes(const Call *c, u32 lo, u32 hi, int affine) {
  const Params *p = PARAMS(Params);
  const float *x = c->io[0];
  const f2 *stats = (const f2 *)c->io[1];
  float *y = c->io[affine ? 4 : 2];
  for (u32 plane = lo; plane < hi; plane++) {
    u32 ch = plane % p->channels;
    float mean = stats[ch].x, inv = stats[ch].y;
    float gamma = affine ? c->io[2][ch] : 1.0f, beta = affine ? c->io[3][ch] : 0.0f;
    const float *xs = x + plane * p->plane;
    float *ys = y + plane * p->plane;
    if (affine) {
      for (u32 s = 0; s < p->plane; s++) ys[s] = (xs[s] - mean) * inv * gamma + beta;
    } else {
      for (u32 s = 0; s < p->plane; s++) ys[s] = (xs[s] - mean) * inv;
    }
  }
}

static void bn_normalize_range(const Call *c, u32 lo, u32 hi) { normalize_planes(c, lo, hi, 0); }
static void bn_normalize_affine_range(const Call *c, u32 lo, u32 hi) { normalize_planes(c, lo, hi, 1); }

KERNEL(batchnorm, bn_normalize) { parallel_for(c, bn_normalize_range, PARAMS(Params)->total / PARAMS(Params)->plane, 2 * PARAMS(Params)->plane); }
KERNEL(batchnorm, bn_normalize_affine) { parallel_for(c, bn_normalize_affine_range, PARAMS(Params)->total / PARAMS(Params)->plane, 4 * PARAMS(Params)->plane); }

// (v, stats, dy) → (chunk grads [C, chunks] of (Σ dy, Σ dy·x̂)) with x̂ = (v − μ)·(1/σ) from a kept
// input, or x̂ = v itself from the kept output of an affine-free BatchNorm; items are (channel,
// chunk), a span at a time as in bn_moments.
static void grad_partials(const Call *c, u32 lo, u32 hi, int of_output) {
  const Params *p = PARAMS(Params);
  const float *x = c->io[0], *dy = c->io[2];
  const f2 *stats = (const f2 *)c->io[1];
  f2 *out = (f2 *)c->io[3];
  for (u32 t = lo; t < hi;) {
    Span sp = span_at(p, t, hi);
    f2 st = of_output ? (f2){ 0.0f, 1.0f } : stats[sp.ch];
    f4 mean = wasm_f32x4_splat(st.x);
    float sum_dy[sp.n] __attribute__((aligned(16))), sum_dy_centered[sp.n] __attribute__((aligned(16)));
    for (u32 j = 0; j < sp.n; j++) sum_dy[j] = sum_dy_centered[j] = 0.0f;
    for (u32 n = 0; n < p->batch; n++) {
      u32 plane = (n * p->channels + sp.ch) * p->plane;
      for (u32 block = 0; block + sp.j0 < p->plane; block += p->chunks) {
        u32 at = plane + block + sp.j0, m = min_u(sp.n, p->plane - block - sp.j0), j = 0;
        for (; j + 4 <= m; j += 4) {
          f4 g = wasm_v128_load(dy + at + j);
          f4 xc = wasm_f32x4_sub(wasm_v128_load(x + at + j), mean);
          wasm_v128_store(sum_dy + j, wasm_f32x4_add(wasm_v128_load(sum_dy + j), g));
          wasm_v128_store(sum_dy_centered + j, madd(g, xc, wasm_v128_load(sum_dy_centered + j)));
        }
        for (; j < m; j++) {
          float g = dy[at + j];
          sum_dy[j] += g;
          sum_dy_centered[j] += g * (x[at + j] - st.x);
        }
      }
    }
    for (u32 j = 0; j < sp.n; j++) out[t + j] = (f2){ sum_dy[j], sum_dy_centered[j] * st.y };
    t += sp.n;
  }
}

static void bn_grad_partials_range(const Call *c, u32 lo, u32 hi) { grad_partials(c, lo, hi, 0); }
static void bn_grad_partials_of_output_range(const Call *c, u32 lo, u32 hi) { grad_partials(c, lo, hi, 1); }

KERNEL(batchnorm, bn_grad_partials) {
  const Params *p = PARAMS(Params);
  parallel_for(c, bn_grad_partials_range, p->channels * p->chunks, 3 * p->batch * p->plane / p->chunks);
}

KERNEL(batchnorm, bn_grad_partials_of_output) {
  const Params *p = PARAMS(Params);
  parallel_for(c, bn_grad_partials_of_output_range, p->channels * p->chunks, 3 * p->batch * p->plane / p->chunks);
}

static f2 channel_grad_sums(const f2 *chunks, u32 count) {
  f2 sums = { 0.0f, 0.0f };
  for (u32 j = 0; j < count; j++) {
    sums.x += chunks[j].x;
    sums.y += chunks[j].y;
  }
  return sums;
}

// dx = a·(dy − mean(dy) − (x − μ)·k), stored per channel as (a, μ, mean(dy), k) with k = mean(dy·x̂)/σ;
// from a kept output x̂: (a, 0, mean(dy), mean(dy·x̂)). In eval mode the mean terms vanish.
static f4s backward_coef(const Params *p, f2 stats, float scale, f2 sums, int of_output) {
  float trained = p->training ? 1.0f / values_per_channel(p) : 0.0f;
  if (of_output) return (f4s){ scale * stats.y, 0.0f, sums.x * trained, sums.y * trained };
  return (f4s){ scale * stats.y, stats.x, sums.x * trained, stats.y * sums.y * trained };
}

// (chunk grads, stats) → (coef)
static void grad_coef(const Call *c, int of_output) {
  const Params *p = PARAMS(Params);
  const f2 *stats = (const f2 *)c->io[1];
  f4s *coef = (f4s *)c->io[2];
  for (u32 ch = 0; ch < p->channels; ch++) {
    coef[ch] = backward_coef(p, stats[ch], 1.0f, channel_grad_sums((const f2 *)c->io[0] + ch * p->chunks, p->chunks), of_output);
  }
}

KERNEL(batchnorm, bn_grad_coef) { grad_coef(c, 0); }
KERNEL(batchnorm, bn_grad_coef_of_output) { grad_coef(c, 1); }

// (chunk grads, stats, γ) → (coef, dγ, dβ)
KERNEL(batchnorm, bn_grad_coef_affine) {
  const Params *p = PARAMS(Params);
  const f2 *stats = (const f2 *)c->io[1];
  f4s *coef = (f4s *)c->io[3];
  for (u32 ch = 0; ch < p->channels; ch++) {
    f2 sums = channel_grad_sums((const f2 *)c->io[0] + ch * p->chunks, p->chunks);
    coef[ch] = backward_coef(p, stats[ch], c->io[2][ch], sums, 0);
    c->io[4][ch] = sums.y;
    c->io[5][ch] = sums.x;
  }
}

// (x, coef, dy) → (dx), or (y, coef, dy) → (dx) from a kept output; items are planes.
static void bn_backward_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  const float *x = c->io[0], *dy = c->io[2];
  const f4s *coef = (const f4s *)c->io[1];
  float *dx = c->io[3];
  for (u32 plane = lo; plane < hi; plane++) {
    f4s k = coef[plane % p->channels];
    u32 base = plane * p->plane;
    for (u32 s = 0; s < p->plane; s++) dx[base + s] = k.x * (dy[base + s] - k.z - (x[base + s] - k.y) * k.w);
  }
}

KERNEL(batchnorm, bn_backward) { parallel_for(c, bn_backward_range, PARAMS(Params)->total / PARAMS(Params)->plane, 4 * PARAMS(Params)->plane); }
