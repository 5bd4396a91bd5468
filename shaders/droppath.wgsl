// Drop path (SGAS.md §3): every value of sample n is multiplied by mask[n], 0 or 1/keep. The map is
// linear and diagonal, so its backward is the same scaling of the gradient: one entry point serves
// both directions, (x, mask) → y forward and (dy, mask) → dx backward.
struct Params { total: u32, per_sample: u32 }
@group(0) @binding(0) var<uniform> p: Params;

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> mask: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const WG = 64u;

@compute @workgroup_size(WG) fn scale_samples(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg, WG);
  if (i < p.total) { out[i] = x[i] * mask[i / p.per_sample]; }
}
