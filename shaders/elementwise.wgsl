// Elementwise kernels. Bindings: 0 = Params, then inputs, then outputs (runtime/kernelCache.ts).
struct Params { n: u32, cols: u32, s: f32 }
@group(0) @binding(0) var<uniform> p: Params;

@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out1: array<f32>;
@group(0) @binding(3) var<storage, read_write> out2: array<f32>;
@group(0) @binding(1) var<storage, read_write> out0: array<f32>;

const WG = 64u;

@compute @workgroup_size(WG) fn fill(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg, WG);
  if (i < p.n) { out0[i] = p.s; }
}

@compute @workgroup_size(WG) fn copy(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg, WG);
  if (i < p.n) { out1[i] = a[i]; }
}

@compute @workgroup_size(WG) fn scale(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg, WG);
  if (i < p.n) { out1[i] = a[i] * p.s; }
}

// out += s * a, in place: gradient accumulation.
@compute @workgroup_size(WG) fn axpy(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg, WG);
  if (i < p.n) { out1[i] = out1[i] + p.s * a[i]; }
}

@compute @workgroup_size(WG) fn add(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg, WG);
  if (i < p.n) { out2[i] = a[i] + b[i]; }
}

@compute @workgroup_size(WG) fn mul(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg, WG);
  if (i < p.n) { out2[i] = a[i] * b[i]; }
}

@compute @workgroup_size(WG) fn relu_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg, WG);
  if (i < p.n) { out1[i] = max(a[i], 0.0); }
}

// a = forward input, b = upstream gradient.
@compute @workgroup_size(WG) fn relu_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg, WG);
  if (i < p.n) { out2[i] = select(0.0, b[i], a[i] > 0.0); }
}

// Row-major [rows, cols] plus a per-column bias b.
@compute @workgroup_size(WG) fn add_bias(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg, WG);
  if (i < p.n) { out2[i] = a[i] + b[i % p.cols]; }
}

// out = a[cols .. cols + n): a contiguous slice (a row block of a row-major matrix).
@compute @workgroup_size(WG) fn slice_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg, WG);
  if (i < p.n) { out1[i] = a[p.cols + i]; }
}

// The slice's gradient: out (length n) is zero except g placed at offset cols; s = length of g.
@compute @workgroup_size(WG) fn slice_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg, WG);
  if (i >= p.n) { return; }
  let inside = i >= p.cols && i < p.cols + u32(p.s);
  out1[i] = select(0.0, a[min(i - p.cols, u32(p.s) - 1u)], inside);
}
