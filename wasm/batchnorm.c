// shaders/batchnorm.wgsl: BatchNorm2d over NCHW, with the same two-stage per-channel sums: `chunks`
// partial sums per channel, then their merge in order. What a chunk holds differs, since both stages
// are ours: here chunk j of a channel is the j-th contiguous piece of its values in (image, position)
// order (the GPU's chunk j, s ≡ j (mod chunks) of every plane, suits neighbouring invocations reading
// neighbouring floats). Items go chunk-major, so a thread's share of them covers the images that its
// share of a plane-wise kernel before (the convolution that made x) left in its own core's cache.
#include "kernels.h"

typedef struct { u32 total, channels, plane, batch, chunks, training; float eps, momentum; } Params;

typedef struct { float x, y; } f2;
typedef struct { float x, y, z, w; } f4s;

static float values_per_channel(const Params *p) { return (float)(p->batch * p->plane); }

// The channel-relative flat index (image · plane + position) where chunk j starts; chunk sizes
// differ by at most one.
static u32 chunk_start(const Params *p, u32 j) {
  return part_start(p->batch * p->plane, p->chunks, j);
}

static u32 chunk_size(const Params *p, u32 j) { return chunk_start(p, j + 1) - chunk_start(p, j); }

// A stretch of one image's plane in a chunk: `length` floats from `at` in channel 0 (+ ch · plane).
typedef struct { u32 at, length; } Run;

static u32 max_runs(const Params *p) { return ceil_div_u(p->batch * p->plane, p->chunks) / p->plane + 2; }

// Chunk j's runs into runs (max_runs of them at most); returns how many.
static u32 chunk_runs(const Params *p, u32 j, Run *runs) {
  u32 start = chunk_start(p, j), left = chunk_size(p, j), count = 0;
  for (u32 n = start / p->plane, s = start % p->plane; left; s = 0, n++) {
    u32 length = min_u(p->plane - s, left);
    runs[count++] = (Run){ n * p->channels * p->plane + s, length };
    left -= length;
  }
  return count;
}

// What one work item (chunk j of channel ch, whose runs in channel 0 are given) computes.
typedef void (*Item)(const Call *c, const Params *p, u32 j, u32 ch, const Run *runs, u32 count, float values);

// Most chunks a block of items takes at once.
#define BLOCK_CHUNKS 16

// Runs item for every work item t in [lo, hi) (chunk t / C, channel t % C, values its chunk's size)
// in blocks of the chunks that span about one image, channel by channel within a block, so that x
// is read forward. Chunk by chunk, where a chunk is less than a plane, the items read each plane in
// pieces a plane apart, and x came at 6–13 GB/s against 50 for a plane-wise pass (64×32×16×16:
// bn_moments 2.3–2.7× and bn_grad_partials 2.2–3.1× faster so, in one process at 1 thread; on
// planes of 8×8 to 28×28 0.95–1.2×). Each item's result is its own, so the order leaves the bits.
static inline __attribute__((always_inline)) void for_items(const Call *c, u32 lo, u32 hi, const Item item) {
  const Params *p = PARAMS(Params);
  u32 C = p->channels, block = min_u(max_u(p->chunks / p->batch, 1), BLOCK_CHUNKS), width = max_runs(p);
  // Blocks of several chunks have chunks of at most half a plane, so two runs each at most; a chunk
  // with many runs (a whole batch of small planes) comes alone.
  Run runs[block * width];
  u32 counts[BLOCK_CHUNKS];
  float values[BLOCK_CHUNKS];
  for (u32 j0 = lo / C; j0 * C < hi; j0 += block) {
    u32 j1 = min_u(j0 + block, (hi + C - 1) / C);
    for (u32 j = j0; j < j1; j++) {
      counts[j - j0] = chunk_runs(p, j, runs + (j - j0) * width);
      values[j - j0] = (float)chunk_size(p, j);
    }
    for (u32 ch = 0; ch < C; ch++) {
      for (u32 j = j0; j < j1; j++) {
        u32 t = j * C + ch;
        if (t >= lo && t < hi) item(c, p, j, ch, runs + (j - j0) * width, counts[j - j0], values[j - j0]);
      }
    }
  }
}

// Moments are of x − shift, shift = the channel's first value (rounding stays relative to the spread).
static float shift_of(const Call *c, const Params *p, u32 ch) { return c->io[0][ch * p->plane]; }

// Σ (x − a)  (square: Σ (x − a)²) over the runs, at `offset` further into x. Four vector sums, so
// that the adds overlap, folded in a fixed order.
static float runs_sum(const float *x, const Run *runs, u32 count, u32 offset, float a, int square) {
  f4 va = wasm_f32x4_splat(a), zero = wasm_f32x4_splat(0.0f), acc[4] = { zero, zero, zero, zero };
  float tail = 0.0f;
  for (u32 r = 0; r < count; r++) {
    const float *v = x + offset + runs[r].at;
    u32 i = 0, length = runs[r].length;
    for (; i + 16 <= length; i += 16) {
      for (u32 k = 0; k < 4; k++) {
        f4 d = wasm_f32x4_sub(wasm_v128_load(v + i + 4 * k), va);
        acc[k] = square ? madd(d, d, acc[k]) : wasm_f32x4_add(acc[k], d);
      }
    }
    for (; i + 4 <= length; i += 4) {
      f4 d = wasm_f32x4_sub(wasm_v128_load(v + i), va);
      acc[0] = square ? madd(d, d, acc[0]) : wasm_f32x4_add(acc[0], d);
    }
    for (; i < length; i++) {
      float d = v[i] - a;
      tail += square ? d * d : d;
    }
  }
  return hsum(wasm_f32x4_add(wasm_f32x4_add(acc[0], acc[1]), wasm_f32x4_add(acc[2], acc[3]))) + tail;
}

// (x) → (chunk moments [C, chunks] of (mean, M2)); item t is channel t mod C of chunk t / C.
static inline __attribute__((always_inline)) void moments_item(const Call *c, const Params *p, u32 j, u32 ch, const Run *runs, u32 count, float values) {
  float shift = shift_of(c, p, ch);
  float mean = runs_sum(c->io[0], runs, count, ch * p->plane, shift, 0) / values;
  ((f2 *)c->io[1])[ch * p->chunks + j] = (f2){ mean, runs_sum(c->io[0], runs, count, ch * p->plane, shift + mean, 1) };
}

static void bn_moments_range(const Call *c, u32 lo, u32 hi) { for_items(c, lo, hi, moments_item); }

KERNEL(batchnorm, bn_moments) {
  const Params *p = PARAMS(Params);
  parallel_for(c, bn_moments_range, p->channels * p->chunks, 3 * p->batch * p->plane / p->chunks);
}

// Each chunk's number of values, for the merge.
static void chunk_counts(const Params *p, float *counts) {
  for (u32 j = 0; j < p->chunks; j++) counts[j] = (float)chunk_size(p, j);
}

// Chan et al.'s pairwise merge of the chunks' (mean, M2) in order: the channel's mean and Σ(x − mean)².
static f2 channel_moments(const Call *c, const Params *p, u32 ch, const float *counts) {
  const f2 *chunks = (const f2 *)c->io[1] + ch * p->chunks;
  float count = 0.0f, mean = 0.0f, m2 = 0.0f;
  for (u32 j = 0; j < p->chunks; j++) {
    float n = counts[j];
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
  float counts[p->chunks];
  chunk_counts(p, counts);
  for (u32 ch = 0; ch < p->channels; ch++) stats[ch] = batch_stats(p, channel_moments(c, p, ch, counts));
}

// (x, chunk moments) → (stats, running mean, running variance), PyTorch's running update with the
// unbiased variance.
KERNEL(batchnorm, bn_stats_running) {
  const Params *p = PARAMS(Params);
  f2 *stats = (f2 *)c->io[2];
  float *running_mean = c->io[3], *running_var = c->io[4];
  float counts[p->chunks];
  chunk_counts(p, counts);
  for (u32 ch = 0; ch < p->channels; ch++) {
    f2 moments = channel_moments(c, p, ch, counts);
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
// input, or x̂ = v itself from the kept output of an affine-free BatchNorm; items as in bn_moments.
static inline __attribute__((always_inline)) void grad_item(const Call *c, const Params *p, u32 j, u32 ch, const Run *runs, u32 count,
                                                            const int of_output) {
  const float *x = c->io[0], *dy = c->io[2];
  f2 st = of_output ? (f2){ 0.0f, 1.0f } : ((const f2 *)c->io[1])[ch];
  // Two vector sums of each, so that the adds overlap, folded in a fixed order.
  f4 mean = wasm_f32x4_splat(st.x), zero = wasm_f32x4_splat(0.0f);
  f4 sum_dy[2] = { zero, zero }, sum_dy_centered[2] = { zero, zero };
  float tail_dy = 0.0f, tail_dy_centered = 0.0f;
  for (u32 r = 0; r < count; r++) {
    u32 at = ch * p->plane + runs[r].at, length = runs[r].length, i = 0;
    for (; i + 8 <= length; i += 8) {
      for (u32 k = 0; k < 2; k++) {
        f4 g = wasm_v128_load(dy + at + i + 4 * k);
        sum_dy[k] = wasm_f32x4_add(sum_dy[k], g);
        sum_dy_centered[k] = madd(g, wasm_f32x4_sub(wasm_v128_load(x + at + i + 4 * k), mean), sum_dy_centered[k]);
      }
    }
    for (; i + 4 <= length; i += 4) {
      f4 g = wasm_v128_load(dy + at + i);
      sum_dy[0] = wasm_f32x4_add(sum_dy[0], g);
      sum_dy_centered[0] = madd(g, wasm_f32x4_sub(wasm_v128_load(x + at + i), mean), sum_dy_centered[0]);
    }
    for (; i < length; i++) {
      float g = dy[at + i];
      tail_dy += g;
      tail_dy_centered += g * (x[at + i] - st.x);
    }
  }
  float total_dy = hsum(wasm_f32x4_add(sum_dy[0], sum_dy[1])) + tail_dy;
  float total_dy_centered = hsum(wasm_f32x4_add(sum_dy_centered[0], sum_dy_centered[1])) + tail_dy_centered;
  ((f2 *)c->io[3])[ch * p->chunks + j] = (f2){ total_dy, total_dy_centered * st.y };
}

static inline __attribute__((always_inline)) void grad_of_input_item(const Call *c, const Params *p, u32 j, u32 ch, const Run *runs, u32 count, float values) {
  (void)values;
  grad_item(c, p, j, ch, runs, count, 0);
}
static inline __attribute__((always_inline)) void grad_of_output_item(const Call *c, const Params *p, u32 j, u32 ch, const Run *runs, u32 count, float values) {
  (void)values;
  grad_item(c, p, j, ch, runs, count, 1);
}
static void bn_grad_partials_range(const Call *c, u32 lo, u32 hi) { for_items(c, lo, hi, grad_of_input_item); }
static void bn_grad_partials_of_output_range(const Call *c, u32 lo, u32 hi) { for_items(c, lo, hi, grad_of_output_item); }

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
