// Global L2 gradient-norm clipping without a readback: the norm stays on the GPU.
struct Params { n: u32, count: u32, max_norm: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> squares: array<f32>;
@group(0) @binding(1) var<storage, read> coef_in: array<f32>;
@group(0) @binding(2) var<storage, read_write> norm_coef: array<f32>;
@group(0) @binding(2) var<storage, read_write> grad: array<f32>;

// norm_coef = [total norm, clip coefficient]; coef = max_norm / (norm + 1e-6), used only when < 1.
@compute @workgroup_size(1) fn clip_coef() {
  var total = 0.0;
  for (var i = 0u; i < p.count; i++) { total += squares[i]; }
  let norm = sqrt(total);
  norm_coef[0] = norm;
  norm_coef[1] = min(1.0, p.max_norm / (norm + 1e-6));
}

@compute @workgroup_size(64) fn scale_by_coef(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg, 64u);
  if (i < p.n) { grad[i] = grad[i] * coef_in[1]; }
}
