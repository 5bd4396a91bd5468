// Row reductions: out[out_offset + r] = s * sum_j f(in[r, j]) over `cols` values. One workgroup per row,
// a fixed-order tree, so results are the same on every run (no atomics).
// limit: the input's length, so the last row of a chunked vector may be short.
struct Params { rows: u32, cols: u32, square: u32, out_offset: u32, limit: u32, s: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

// WebGPU compatibility mode allows 128 invocations per workgroup.
const WG = 128u;
var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG) fn sum_rows(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u,
                                         @builtin(num_workgroups) nwg: vec3u) {
  let row = wid.x + wid.y * nwg.x;
  let base = row * p.cols;
  var acc = 0.0;
  if (row < p.rows) {
    for (var j = lid.x; j < p.cols && base + j < p.limit; j += WG) {
      let v = x[base + j];
      acc += select(v, v * v, p.square != 0u);
    }
  }
  partial[lid.x] = acc;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid.x < stride) { partial[lid.x] += partial[lid.x + stride]; }
    workgroupBarrier();
  }
  if (lid.x == 0u && row < p.rows) { out[p.out_offset + row] = partial[0] * p.s; }
}

// Column sums of a row-major [rows, cols] matrix (bias gradients): one thread per column.
@compute @workgroup_size(64) fn sum_cols(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  if (c >= p.cols) { return; }
  var acc = 0.0;
  for (var r = 0u; r < p.rows; r++) { acc += x[r * p.cols + c]; }
  out[c] = acc * p.s;
}

// out[i] = s * x[0]: the gradient of a sum or mean, spread without a readback.
@compute @workgroup_size(64) fn broadcast_scalar(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg, 64u);
  if (i < p.rows) { out[i] = x[0] * p.s; }
}
