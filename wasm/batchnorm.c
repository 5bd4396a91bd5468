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

// Chunks j..j+3 of a channel are neighbouring floats of every block of `chunks` values, so four
// chunks are summed as the lanes of one f32x4, each lane adding its values in the same order as a
// lone chunk would: the results do not depend on which chunks share a vector.

// Lanes l with s + l < plane: (v[s + l] − a) − b_l, the others 0 (adding 0 changes no sum).
static f4 tail4(const float *v, u32 s, u32 plane, float a, f4 b) {
  float t[4], bs[4];
  wasm_v128_store(bs, b);
  for (u32 l = 0; l < 4; l++) t[l] = s + l < plane ? (v[s + l] - a) - bs[l] : 0.0f;
  return wasm_v128_load(t);
}

// Sums over chunks j..j+3 of channel ch of every image: Σ (x − a) − b (or its square).
static f4 chunk_sums4(const Params *p, const float *x, u32 ch, u32 j, float a, f4 b, int square) {
  f4 acc = wasm_f32x4_splat(0), va = wasm_f32x4_splat(a);
  for (u32 n = 0; n < p->batch; n++) {
    const float *base = x + (n * p->channels + ch) * p->plane;
    u32 s = j;
    for (; s + 3 < p->plane; s += p->chunks) {
      f4 d = wasm_f32x4_sub(wasm_f32x4_sub(wasm_v128_load(base + s), va), b);
      acc = wasm_f32x4_add(acc, square ? wasm_f32x4_mul(d, d) : d);
    }
    if (s < p->plane) {
      f4 d = tail4(base, s, p->plane, a, b);
      acc = wasm_f32x4_add(acc, square ? wasm_f32x4_mul(d, d) : d);
    }
  }
  return acc;
}

// (x) → (chunk moments [C, chunks] of (mean, M2)); items are (channel, chunk).
static void bn_moments_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  const float *x = c->io[0];
  f2 *out = (f2 *)c->io[1];
  for (u32 t = lo; t < hi;) {
    u32 ch = t / p->chunks, j = t % p->chunks;
    float shift = shift_of(c, p, ch);
    if (j + 4 <= p->chunks && t + 4 <= hi) {
      f4 zero = wasm_f32x4_splat(0);
      f4 counts = wasm_f32x4_make(chunk_count(p, j), chunk_count(p, j + 1), chunk_count(p, j + 2), chunk_count(p, j + 3));
      f4 mean = wasm_f32x4_div(chunk_sums4(p, x, ch, j, shift, zero, 0), counts);
      f4 m2 = chunk_sums4(p, x, ch, j, shift, mean, 1);
      float ms[4], m2s[4];
      wasm_v128_store(ms, mean);
      wasm_v128_store(m2s, m2);
      for (u32 l = 0; l < 4; l++) out[t + l] = (f2){ ms[l], m2s[l] };
      t += 4;
      continue;
    }
    float sum = 0.0f;
    for (u32 n = 0; n < p->batch; n++) {
      const float *base = x + (n * p->channels + ch) * p->plane;
      for (u32 s = j; s < p->plane; s += p->chunks) sum += base[s] - shift;
    }
    float mean = sum / chunk_count(p, j);
    float m2 = 0.0f;
    for (u32 n = 0; n < p->batch; n++) {
      const float *base = x + (n * p->channels + ch) * p->plane;
      for (u32 s = j; s < p->plane; s += p->chunks) {
        float d = (base[s] - shift) - mean;
        m2 += d * d;
      }
    }
    out[t++] = (f2){ mean, m2 };
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

// (x, stats, dy) → (chunk grads [C, chunks] of (Σ dy, Σ dy·x̂)); items are (channel, chunk),
// four neighbouring chunks per f32x4 as in bn_moments.
static void bn_grad_partials_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  const float *x = c->io[0], *dy = c->io[2];
  const f2 *stats = (const f2 *)c->io[1];
  f2 *out = (f2 *)c->io[3];
  for (u32 t = lo; t < hi;) {
    u32 ch = t / p->chunks, j = t % p->chunks;
    f2 st = stats[ch];
    if (j + 4 <= p->chunks && t + 4 <= hi) {
      f4 sum_dy = wasm_f32x4_splat(0), sum_dy_centered = sum_dy, mean = wasm_f32x4_splat(st.x);
      for (u32 n = 0; n < p->batch; n++) {
        u32 base = (n * p->channels + ch) * p->plane, s = j;
        for (; s < p->plane; s += p->chunks) {
          f4 g, xc;
          if (s + 3 < p->plane) {
            g = wasm_v128_load(dy + base + s);
            xc = wasm_f32x4_sub(wasm_v128_load(x + base + s), mean);
          } else {
            g = tail4(dy + base, s, p->plane, 0.0f, wasm_f32x4_splat(0));
            xc = tail4(x + base, s, p->plane, st.x, wasm_f32x4_splat(0));
          }
          sum_dy = wasm_f32x4_add(sum_dy, g);
          sum_dy_centered = wasm_f32x4_add(sum_dy_centered, wasm_f32x4_mul(g, xc));
        }
      }
      float a[4], b[4];
      wasm_v128_store(a, sum_dy);
      wasm_v128_store(b, sum_dy_centered);
      for (u32 l = 0; l < 4; l++) out[t + l] = (f2){ a[l], b[l] * st.y };
      t += 4;
      continue;
    }
    float sum_dy = 0.0f, sum_dy_centered = 0.0f;
    for (u32 n = 0; n < p->batch; n++) {
      u32 base = (n * p->channels + ch) * p->plane;
      for (u32 s = j; s < p->plane; s += p->chunks) {
        float g = dy[base + s];
        sum_dy += g;
        sum_dy_centered += g * (x[base + s] - st.x);
      }
    }
    out[t++] = (f2){ sum_dy, sum_dy_centered * st.y };
  }
}

KERNEL(batchnorm, bn_grad_partials) {
  const Params *p = PARAMS(Params);
  parallel_for(c, bn_grad_partials_range, p->channels * p->chunks, 3 * p->batch * p->plane / p->chunks);
}

static f2 channel_grad_sums(const f2 *chunks, u32 count) {
  f2 sums = { 0.0f, 0.0f };
  for (u32 j = 0; j < count; j++) {
    sums.x += chunks[j].x;
    sums.y += chunks[j].y;
  }
  return sums;
}

// dx = a·(dy − mean(dy) − (x − μ)·k), stored per channel as (a, μ, mean(dy), k); in eval mode the
// mean terms vanish.
static f4s backward_coef(const Params *p, f2 stats, float scale, f2 sums) {
  float trained = p->training ? 1.0f / values_per_channel(p) : 0.0f;
  return (f4s){ scale * stats.y, stats.x, sums.x * trained, stats.y * sums.y * trained };
}

// (chunk grads, stats) → (coef)
KERNEL(batchnorm, bn_grad_coef) {
  const Params *p = PARAMS(Params);
  const f2 *stats = (const f2 *)c->io[1];
  f4s *coef = (f4s *)c->io[2];
  for (u32 ch = 0; ch < p->channels; ch++) {
    coef[ch] = backward_coef(p, stats[ch], 1.0f, channel_grad_sums((const f2 *)c->io[0] + ch * p->chunks, p->chunks));
  }
}

// (chunk grads, stats, γ) → (coef, dγ, dβ)
KERNEL(batchnorm, bn_grad_coef_affine) {
  const Params *p = PARAMS(Params);
  const f2 *stats = (const f2 *)c->io[1];
  f4s *coef = (f4s *)c->io[3];
  for (u32 ch = 0; ch < p->channels; ch++) {
    f2 sums = channel_grad_sums((const f2 *)c->io[0] + ch * p->chunks, p->chunks);
    coef[ch] = backward_coef(p, stats[ch], c->io[2][ch], sums);
    c->io[4][ch] = sums.y;
    c->io[5][ch] = sums.x;
  }
}

// (x, coef, dy) → (dx); items are planes.
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
