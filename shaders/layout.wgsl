// Moving NCHW data around (channel concat, crop) and MixedOp's weighted sum of branches
// (SGAS.md §1.2–1.3). Each entry point has its own Params view of the uniform at binding 0.

// Channel concat: x [N, Cx, H, W] is block `offset` (in floats, = channel offset · H·W) of each
// image of out [N, C, H, W]; inner = Cx·H·W and outer = C·H·W are the per-image block lengths.
struct BlockParams { total: u32, inner: u32, outer: u32, offset: u32 }
// Crop x[:, :, top:, left:] of [planes, height, width] into [planes, out_height, out_width].
struct CropParams { total: u32, height: u32, width: u32, out_height: u32, out_width: u32, top: u32, left: u32 }
// Σ_k w[first + k]·branch_k over `count` (≤ 6) branches, added to out when accumulate ≠ 0.
struct SumParams { total: u32, first: u32, count: u32, accumulate: u32 }
// Backward of the weighted sum for `count` branches starting at `first`; chunk j of the weight
// gradient's dot products Σ g⊙branch covers i ≡ j (mod chunks), so neighbours read neighbours.
struct SumGradParams { total: u32, first: u32, count: u32, chunks: u32 }
@group(0) @binding(0) var<uniform> bp: BlockParams;
@group(0) @binding(0) var<uniform> cp: CropParams;
@group(0) @binding(0) var<uniform> sp: SumParams;
@group(0) @binding(0) var<uniform> gp: SumGradParams;

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weights: array<f32>;
@group(0) @binding(1) var<storage, read> partials: array<f32>;
@group(0) @binding(2) var<storage, read> in2: array<f32>;
@group(0) @binding(2) var<storage, read_write> out2: array<f32>;
@group(0) @binding(3) var<storage, read> in3: array<f32>;
@group(0) @binding(3) var<storage, read_write> out3: array<f32>;
@group(0) @binding(4) var<storage, read> in4: array<f32>;
@group(0) @binding(4) var<storage, read_write> out4: array<f32>;
@group(0) @binding(5) var<storage, read> in5: array<f32>;
@group(0) @binding(5) var<storage, read_write> out5: array<f32>;
@group(0) @binding(6) var<storage, read> in6: array<f32>;
@group(0) @binding(6) var<storage, read_write> out6: array<f32>;
@group(0) @binding(7) var<storage, read> in7: array<f32>;
@group(0) @binding(7) var<storage, read_write> out7: array<f32>;
@group(0) @binding(8) var<storage, read_write> out8: array<f32>;

const WG = 64u;

fn block_index(i: u32) -> u32 {
  return (i / bp.inner) * bp.outer + bp.offset + i % bp.inner;
}

// (x) → (out): writes x's channels into its slot of the concatenation.
@compute @workgroup_size(WG) fn concat_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg, WG);
  if (i < bp.total) { out2[block_index(i)] = x[i]; }
}

// (g) → (dx): the slice of the concatenation's gradient that belongs to one input.
@compute @workgroup_size(WG) fn concat_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg, WG);
  if (i < bp.total) { out2[i] = x[block_index(i)]; }
}

// (x) → (y)
@compute @workgroup_size(WG) fn crop_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg, WG);
  if (i >= cp.total) { return; }
  let plane = i / (cp.out_height * cp.out_width);
  let h = (i / cp.out_width) % cp.out_height + cp.top;
  let w = i % cp.out_width + cp.left;
  out2[i] = x[(plane * cp.height + h) * cp.width + w];
}

// (g) → (dx): the cropped-away rows and columns get zero.
@compute @workgroup_size(WG) fn crop_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg, WG);
  if (i >= cp.total) { return; }
  let plane = i / (cp.height * cp.width);
  let h = (i / cp.width) % cp.height;
  let w = i % cp.width;
  let inside = h >= cp.top && w >= cp.left;
  let o = (plane * cp.out_height + h - cp.top) * cp.out_width + w - cp.left;
  out2[i] = select(0.0, x[select(0u, o, inside)], inside);
}

// (w, b0..b5) → (out): unused branch slots are bound to a used branch and skipped. Accumulating in
// branch order keeps PyTorch's summation order (0 + w0·b0 + w1·b1 + …).
@compute @workgroup_size(WG) fn weighted_sum_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg, WG);
  if (i >= sp.total) { return; }
  let k = sp.first;
  var acc = select(0.0, out8[i], sp.accumulate != 0u);
  acc += weights[k] * in2[i];
  if (sp.count > 1u) { acc += weights[k + 1u] * in3[i]; }
  if (sp.count > 2u) { acc += weights[k + 2u] * in4[i]; }
  if (sp.count > 3u) { acc += weights[k + 3u] * in5[i]; }
  if (sp.count > 4u) { acc += weights[k + 4u] * in6[i]; }
  if (sp.count > 5u) { acc += weights[k + 5u] * in7[i]; }
  out8[i] = acc;
}

// (w, g) → (g_first … g_first+count−1): the branches' gradients w[first + k]·g where the weights
// take none, up to six from one read of g. Output slots past count are placeholders, never written.
@compute @workgroup_size(WG) fn weighted_sum_scale(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg, WG);
  if (i >= sp.total) { return; }
  let g = in2[i];
  let k = sp.first;
  out3[i] = weights[k] * g;
  if (sp.count > 1u) { out4[i] = weights[k + 1u] * g; }
  if (sp.count > 2u) { out5[i] = weights[k + 2u] * g; }
  if (sp.count > 3u) { out6[i] = weights[k + 3u] * g; }
  if (sp.count > 4u) { out7[i] = weights[k + 4u] * g; }
  if (sp.count > 5u) { out8[i] = weights[k + 5u] * g; }
}

// (w, g, b_first, b_first+1) → (partials [branches, chunks], g_first, g_first+1): one pass over g
// serves both branch gradients and the weight gradients' partial sums (rows first, first + 1).
// With count = 1 the second branch slot repeats the first and its gradient slot is a placeholder.
@compute @workgroup_size(WG) fn weighted_sum_backward(@builtin(global_invocation_id) gid: vec3u) {
  let j = gid.x;
  if (j >= gp.chunks) { return; }
  let pair = gp.count > 1u;
  let w0 = weights[gp.first];
  let w1 = weights[gp.first + select(0u, 1u, pair)];
  var dot0 = 0.0;
  var dot1 = 0.0;
  for (var i = j; i < gp.total; i += gp.chunks) {
    let g = in2[i];
    dot0 += g * in3[i];
    out6[i] = w0 * g;
    if (pair) {
      dot1 += g * in4[i];
      out7[i] = w1 * g;
    }
  }
  out5[gp.first * gp.chunks + j] = dot0;
  if (pair) { out5[(gp.first + 1u) * gp.chunks + j] = dot1; }
}

// (partials [count, chunks]) → (dw [count]): each weight's chunks summed in order.
@compute @workgroup_size(WG) fn weighted_sum_weight_grad(@builtin(global_invocation_id) gid: vec3u) {
  let k = gid.x;
  if (k >= gp.count) { return; }
  var acc = 0.0;
  for (var j = 0u; j < gp.chunks; j++) { acc += partials[k * gp.chunks + j]; }
  out2[k] = acc;
}
