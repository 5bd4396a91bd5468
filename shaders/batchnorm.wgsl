// BatchNorm2d over NCHW: per channel c, statistics over (N, H, W) (SGAS.md §1.1).
// Per-channel sums run in two stages with no atomics and no barriers (both slow on SwiftShader),
// so every run gives the same bits: `chunks` invocations per channel each reduce the strided
// slice s ≡ j (mod chunks) of every image (neighbouring invocations read neighbouring floats),
// then one invocation per channel folds its chunks in index order.
struct Params { total: u32, channels: u32, plane: u32, batch: u32, chunks: u32, training: u32, eps: f32, momentum: f32 }
@group(0) @binding(0) var<uniform> p: Params;

// Inputs come first, then outputs (runtime/kernelCache.ts), so a binding holds different things
// per entry point; the entry's comment lists its (inputs) → (outputs).
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> chunk_grads: array<vec2f>;
@group(0) @binding(1) var<storage, read> running_mean_in: array<f32>;
@group(0) @binding(2) var<storage, read> stats: array<vec2f>;
@group(0) @binding(2) var<storage, read> chunk_moments: array<vec2f>;
@group(0) @binding(2) var<storage, read> coef: array<vec4f>;
@group(0) @binding(2) var<storage, read> running_var_in: array<f32>;
@group(0) @binding(2) var<storage, read_write> out2: array<vec2f>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read_write> out3: array<f32>;
@group(0) @binding(3) var<storage, read_write> stats_out3: array<vec2f>;
@group(0) @binding(3) var<storage, read_write> coef_out3: array<vec4f>;
@group(0) @binding(4) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> running_mean: array<f32>;
@group(0) @binding(4) var<storage, read_write> out4: array<f32>;
@group(0) @binding(4) var<storage, read_write> partials_out4: array<vec2f>;
@group(0) @binding(4) var<storage, read_write> coef_out4: array<vec4f>;
@group(0) @binding(5) var<storage, read_write> out5: array<f32>;
@group(0) @binding(5) var<storage, read_write> running_var: array<f32>;
@group(0) @binding(6) var<storage, read_write> out6: array<f32>;

const WG = 64u;

fn channel_of(i: u32) -> u32 {
  return (i / p.plane) % p.channels;
}

// Values in chunk j of one channel: every image contributes ceil((plane − j) / chunks).
fn chunk_count(j: u32) -> f32 {
  return f32(p.batch * ((p.plane - j + p.chunks - 1u) / p.chunks));
}

fn values_per_channel() -> f32 {
  return f32(p.batch * p.plane);
}

// Moments are taken of x − shift, shift = the channel's first value: a value near the mean keeps
// every rounding error relative to the spread of x, not to its offset (|mean| ≫ σ is common
// after convolutions).
fn shift_of(c: u32) -> f32 {
  return x[c * p.plane];
}

// (x) → (chunk moments): stage 1 of the statistics, (mean, Σ(v − mean)²) of each chunk's
// shifted values v, in two passes.
@compute @workgroup_size(WG) fn bn_moments(@builtin(global_invocation_id) gid: vec3u) {
  let t = gid.x;
  if (t >= p.channels * p.chunks) { return; }
  let c = t / p.chunks;
  let j = t % p.chunks;
  let shift = shift_of(c);
  var sum = 0.0;
  for (var n = 0u; n < p.batch; n++) {
    let base = (n * p.channels + c) * p.plane;
    for (var s = j; s < p.plane; s += p.chunks) { sum += x[base + s] - shift; }
  }
  let mean = sum / chunk_count(j);
  var m2 = 0.0;
  for (var n = 0u; n < p.batch; n++) {
    let base = (n * p.channels + c) * p.plane;
    for (var s = j; s < p.plane; s += p.chunks) {
      let d = x[base + s] - shift - mean;
      m2 += d * d;
    }
  }
  out2[t] = vec2f(mean, m2);
}

// Stage 2: Chan et al.'s pairwise update merges the chunks' (mean, M2) in order; no Σx² − (Σx)²
// cancellation. Returns the channel's mean (shift restored) and Σ(x − mean)².
fn channel_moments(c: u32) -> vec2f {
  var count = 0.0;
  var mean = 0.0;
  var m2 = 0.0;
  for (var j = 0u; j < p.chunks; j++) {
    let chunk = chunk_moments[c * p.chunks + j];
    let n = chunk_count(j);
    let total = count + n;
    let delta = chunk.x - mean;
    mean += delta * (n / total);
    m2 += chunk.y + delta * delta * (count * n / total);
    count = total;
  }
  return vec2f(shift_of(c) + mean, m2);
}

// stats[c] = (batch mean, 1 / sqrt(biased variance + eps)).
fn batch_stats(moments: vec2f) -> vec2f {
  return vec2f(moments.x, 1.0 / sqrt(moments.y / values_per_channel() + p.eps));
}

// (x, chunk moments) → (stats)
@compute @workgroup_size(WG) fn bn_stats(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  if (c >= p.channels) { return; }
  stats_out3[c] = batch_stats(channel_moments(c));
}

// (x, chunk moments) → (stats, running mean, running variance), the running pair updated in place with
// PyTorch's rule: running = (1 − momentum)·running + momentum·batch, unbiased variance.
@compute @workgroup_size(WG) fn bn_stats_running(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  if (c >= p.channels) { return; }
  let moments = channel_moments(c);
  stats_out3[c] = batch_stats(moments);
  let unbiased = moments.y / (values_per_channel() - 1.0);
  running_mean[c] = (1.0 - p.momentum) * running_mean[c] + p.momentum * moments.x;
  running_var[c] = (1.0 - p.momentum) * running_var[c] + p.momentum * unbiased;
}

// (running mean, running variance) → (stats): eval mode normalises with the running statistics.
@compute @workgroup_size(WG) fn bn_running_stats(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  if (c >= p.channels) { return; }
  stats_out3[c] = vec2f(running_mean_in[c], 1.0 / sqrt(running_var_in[c] + p.eps));
}

fn normalized(i: u32) -> f32 {
  let s = stats[channel_of(i)];
  return (x[i] - s.x) * s.y;
}

// (x, stats) → (y)
@compute @workgroup_size(WG) fn bn_normalize(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg, WG);
  if (i < p.total) { out3[i] = normalized(i); }
}

// (x, stats, γ, β) → (y)
@compute @workgroup_size(WG) fn bn_normalize_affine(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg, WG);
  if (i >= p.total) { return; }
  let c = channel_of(i);
  out5[i] = normalized(i) * gamma[c] + beta[c];
}

// Backward stage 1 for chunk t: (Σ dy, Σ dy·x̂) with x̂ = (v − shift)·scale, v the saved tensor.
fn grad_partials(t: u32, shift: f32, scale: f32) -> vec2f {
  let c = t / p.chunks;
  let j = t % p.chunks;
  var sum_dy = 0.0;
  var sum_dy_centered = 0.0;
  for (var n = 0u; n < p.batch; n++) {
    let base = (n * p.channels + c) * p.plane;
    for (var s = j; s < p.plane; s += p.chunks) {
      let g = dy[base + s];
      sum_dy += g;
      sum_dy_centered += g * (x[base + s] - shift);
    }
  }
  return vec2f(sum_dy, sum_dy_centered * scale);
}

// (x, stats, dy) → (chunk grads): x̂ recomputed from the kept input x.
@compute @workgroup_size(WG) fn bn_grad_partials(@builtin(global_invocation_id) gid: vec3u) {
  let t = gid.x;
  if (t >= p.channels * p.chunks) { return; }
  let st = stats[t / p.chunks];
  partials_out4[t] = grad_partials(t, st.x, st.y);
}

// (y, stats, dy) → (chunk grads): an affine-free BatchNorm keeps its output y, which is x̂ itself.
@compute @workgroup_size(WG) fn bn_grad_partials_of_output(@builtin(global_invocation_id) gid: vec3u) {
  let t = gid.x;
  if (t >= p.channels * p.chunks) { return; }
  partials_out4[t] = grad_partials(t, 0.0, 1.0);
}

// Backward stage 2: per channel (Σ dy, Σ dy·x̂) = (dβ, dγ), folded in chunk order.
fn channel_grad_sums(c: u32) -> vec2f {
  var sums = vec2f(0.0);
  for (var j = 0u; j < p.chunks; j++) { sums += chunk_grads[c * p.chunks + j]; }
  return sums;
}

// dx = a·(dy − mean(dy) − (x − μ)·k) with a = γ/σ and k = mean(dy·x̂)/σ, stored as (a, μ, mean(dy), k).
// From a kept output x̂ it is dx = a·(dy − mean(dy) − (x̂ − 0)·mean(dy·x̂)): (a, 0, mean(dy), mean(dy·x̂)).
// In eval mode μ and σ are constants, so the two mean terms vanish.
fn backward_coef(c: u32, scale: f32, sums: vec2f, of_output: bool) -> vec4f {
  let s = stats[c];
  let trained = select(0.0, 1.0 / values_per_channel(), p.training != 0u);
  if (of_output) { return vec4f(scale * s.y, 0.0, sums.x * trained, sums.y * trained); }
  return vec4f(scale * s.y, s.x, sums.x * trained, s.y * sums.y * trained);
}

// (chunk grads, stats) → (coef)
@compute @workgroup_size(WG) fn bn_grad_coef(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  if (c >= p.channels) { return; }
  coef_out3[c] = backward_coef(c, 1.0, channel_grad_sums(c), false);
}

// (chunk grads, stats) → (coef), for bn_backward on the kept output
@compute @workgroup_size(WG) fn bn_grad_coef_of_output(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  if (c >= p.channels) { return; }
  coef_out3[c] = backward_coef(c, 1.0, channel_grad_sums(c), true);
}

// (chunk grads, stats, γ) → (coef, dγ, dβ)
@compute @workgroup_size(WG) fn bn_grad_coef_affine(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  if (c >= p.channels) { return; }
  let sums = channel_grad_sums(c);
  coef_out4[c] = backward_coef(c, gamma[c], sums, false);
  out5[c] = sums.y;
  out6[c] = sums.x;
}

// (x, coef, dy) → (dx), or (y, coef, dy) → (dx) from a kept output
@compute @workgroup_size(WG) fn bn_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg, WG);
  if (i >= p.total) { return; }
  let k = coef[channel_of(i)];
  out4[i] = k.x * (dy[i] - k.z - (x[i] - k.y) * k.w);
}
