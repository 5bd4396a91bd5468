// Row softmax and softmax cross-entropy over [rows, cols] (logits, alphas): one invocation per
// row; rows are short (classes, ops), so a loop beats a cooperative reduction.
struct Params { rows: u32, cols: u32, s: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> y_or_labels: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> out3: array<f32>;
@group(0) @binding(4) var<storage, read_write> out4: array<f32>;

fn row_max(base: u32) -> f32 {
  var m = x[base];
  for (var j = 1u; j < p.cols; j++) { m = max(m, x[base + j]); }
  return m;
}

fn row_sum_exp(base: u32, m: f32) -> f32 {
  var s = 0.0;
  for (var j = 0u; j < p.cols; j++) { s += exp(x[base + j] - m); }
  return s;
}

@compute @workgroup_size(64) fn softmax_forward(@builtin(global_invocation_id) gid: vec3u) {
  let r = gid.x;
  if (r >= p.rows) { return; }
  let base = r * p.cols;
  let m = row_max(base);
  let inv = 1.0 / row_sum_exp(base, m);
  for (var j = 0u; j < p.cols; j++) { out[base + j] = exp(x[base + j] - m) * inv; }
}

// Inputs: x = softmax output y, y_or_labels = upstream gradient; dx = y * (g - sum(g * y)).
@compute @workgroup_size(64) fn softmax_backward(@builtin(global_invocation_id) gid: vec3u) {
  let r = gid.x;
  if (r >= p.rows) { return; }
  let base = r * p.cols;
  var dot = 0.0;
  for (var j = 0u; j < p.cols; j++) { dot += x[base + j] * y_or_labels[base + j]; }
  for (var j = 0u; j < p.cols; j++) { out3[base + j] = x[base + j] * (y_or_labels[base + j] - dot); }
}

// Per-row loss (logsumexp - logit of the label) and the row's softmax, kept for backward.
@compute @workgroup_size(64) fn cross_entropy_forward(@builtin(global_invocation_id) gid: vec3u) {
  let r = gid.x;
  if (r >= p.rows) { return; }
  let base = r * p.cols;
  let m = row_max(base);
  let s = row_sum_exp(base, m);
  let label = u32(y_or_labels[r]);
  out3[r] = log(s) + m - x[base + label];
  let inv = 1.0 / s;
  for (var j = 0u; j < p.cols; j++) { out4[base + j] = exp(x[base + j] - m) * inv; }
}

// Inputs: x = saved softmax, labels, g = scalar upstream gradient of the mean loss.
@compute @workgroup_size(64) fn cross_entropy_backward(@builtin(global_invocation_id) gid: vec3u) {
  let r = gid.x;
  if (r >= p.rows) { return; }
  let base = r * p.cols;
  let label = u32(y_or_labels[r]);
  let scale = g[0] * p.s;
  for (var j = 0u; j < p.cols; j++) {
    out4[base + j] = (x[base + j] - select(0.0, 1.0, j == label)) * scale;
  }
}
