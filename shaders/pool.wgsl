// Pooling over NCHW planes (SGAS.md §1.1, §3): 3×3 max and average windows, k×k average windows
// (the auxiliary head's 5×5), each with stride and padding, and the global average. Backward
// kernels gather: every input value is written by one invocation, which sums the windows covering
// it in a fixed order, so there are no atomics and results are the same bits on every run.
struct Params { total: u32, height: u32, width: u32, out_height: u32, out_width: u32, kernel: u32, stride: u32, pad: u32 }
@group(0) @binding(0) var<uniform> p: Params;

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> argmax: array<f32>;
@group(0) @binding(2) var<storage, read_write> out2: array<f32>;
@group(0) @binding(3) var<storage, read_write> out3: array<f32>;

const WG = 64u;

// First input row (or column) of window o, in unpadded coordinates (negative inside the padding).
fn window_start(o: u32) -> i32 {
  return i32(o * p.stride) - i32(p.pad);
}

// Output rows (or columns) whose window covers input row i: first..last, empty when first > last.
fn covering(i: u32, out_size: u32) -> vec2i {
  let reach = i32(i + p.pad) - i32(p.kernel) + 1;
  let first = (max(reach, 0) + i32(p.stride) - 1) / i32(p.stride);
  let last = min(i32(i + p.pad) / i32(p.stride), i32(out_size) - 1);
  return vec2i(first, last);
}

// In-image taps of window (oh, ow): the divisor of count_include_pad=False.
fn taps(oh: u32, ow: u32) -> f32 {
  let h = window_start(oh);
  let w = window_start(ow);
  let k = i32(p.kernel);
  let rows = min(h + k, i32(p.height)) - max(h, 0);
  let cols = min(w + k, i32(p.width)) - max(w, 0);
  return f32(rows * cols);
}

struct Pixel { plane: u32, row: u32, col: u32 }

fn pixel(i: u32, rows: u32, cols: u32) -> Pixel {
  return Pixel(i / (rows * cols), (i / cols) % rows, i % cols);
}

// 3×3 windows, the search space's pools, are walked a row at a time: an invocation slides the
// window along one row keeping its three column aggregates in registers, so each input value is
// loaded about three times instead of nine (loads dominate on SwiftShader, and private arrays are
// slow there, hence named registers).

// NaN by its bits: WGSL lets a compiler assume that v != v never holds.
fn is_nan(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

// Column c's aggregate over window rows h0..h0+2, taps outside the image skipped.
// Max: (largest value, its first row; a NaN, its last row, as PyTorch's scan takes every NaN), or
// (−3.4e38, 3) with no tap; average: (sum, taps).
fn column3(base: u32, h0: i32, c: i32, is_max: bool) -> vec2f {
  let in_width = c >= 0 && c < i32(p.width);
  let col = u32(clamp(c, 0, i32(p.width) - 1));
  var agg = select(vec2f(0.0), vec2f(-3.4e38, 3.0), is_max);
  for (var kh = 0; kh < 3; kh++) {
    let h = h0 + kh;
    let inside = in_width && h >= 0 && h < i32(p.height);
    let v = x[base + u32(clamp(h, 0, i32(p.height) - 1)) * p.width + col];
    if (is_max) {
      agg = select(agg, vec2f(v, f32(kh)), inside && (v > agg.x || agg.y == 3.0 || is_nan(v)));
    } else {
      agg += select(vec2f(0.0), vec2f(v, 1.0), inside);
    }
  }
  return agg;
}

// The column aggregates of the window starting at column w0.
struct Window3 { a: vec2f, b: vec2f, c: vec2f }

fn window3(base: u32, h0: i32, w0: i32, is_max: bool) -> Window3 {
  return Window3(column3(base, h0, w0, is_max), column3(base, h0, w0 + 1, is_max), column3(base, h0, w0 + 2, is_max));
}

// The next window (starting at w0, one stride on), reusing the columns it shares with `w`.
fn slide3(w: Window3, base: u32, h0: i32, w0: i32, is_max: bool) -> Window3 {
  if (p.stride == 1u) { return Window3(w.b, w.c, column3(base, h0, w0 + 2, is_max)); }
  if (p.stride == 2u) { return Window3(w.c, column3(base, h0, w0 + 1, is_max), column3(base, h0, w0 + 2, is_max)); }
  return window3(base, h0, w0, is_max);
}

// Max: a later column wins only with a larger value, or an equal one on an earlier row (scan order).
// A column with no tap (row 3) never wins and always loses, whatever its −3.4e38 meets (−∞ too); a
// NaN wins over a number, and over a NaN unless from an earlier row, as PyTorch's scan takes the last.
fn wins(v: vec2f, best: vec2f) -> bool {
  if (v.y == 3.0) { return false; }
  if (best.y == 3.0) { return true; }
  if (is_nan(v.x)) { return !is_nan(best.x) || v.y >= best.y; }
  return v.x > best.x || (v.x == best.x && v.y < best.y);
}

// (x) → (y, argmax), one invocation per output row. Padding acts as −∞; ties keep the first
// maximum in scan order, as in PyTorch. argmax holds the window tap (kh·3 + kw) of the maximum.
@compute @workgroup_size(WG) fn max_pool3_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = flat_index(gid, nwg, WG);
  if (row >= p.total) { return; }
  let h0 = window_start(row % p.out_height);
  let base = (row / p.out_height) * p.height * p.width;
  var w0 = -i32(p.pad);
  var w = window3(base, h0, w0, true);
  for (var ow = 0u; ow < p.out_width; ow++) {
    var best = w.a;
    var kw = 0.0;
    if (wins(w.b, best)) { best = w.b; kw = 1.0; }
    if (wins(w.c, best)) { best = w.c; kw = 2.0; }
    out2[row * p.out_width + ow] = best.x;
    out3[row * p.out_width + ow] = best.y * 3.0 + kw;
    w0 += i32(p.stride);
    w = slide3(w, base, h0, w0, true);
  }
}

// (x) → (y), one invocation per output row: mean over the in-image taps (count_include_pad=False).
@compute @workgroup_size(WG) fn avg_pool3_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = flat_index(gid, nwg, WG);
  if (row >= p.total) { return; }
  let h0 = window_start(row % p.out_height);
  let base = (row / p.out_height) * p.height * p.width;
  var w0 = -i32(p.pad);
  var w = window3(base, h0, w0, false);
  for (var ow = 0u; ow < p.out_width; ow++) {
    let sum = w.a + w.b + w.c;
    out2[row * p.out_width + ow] = sum.x / sum.y;
    w0 += i32(p.stride);
    w = slide3(w, base, h0, w0, false);
  }
}

// The backward walks the same windows from the input side: one invocation per input row visits,
// left to right, the windows of the output rows covering it, collecting their gradient for the
// window's three columns in registers. A column is final, and written, once the next window
// starts right of it.
struct Pending3 { a: f32, b: f32, c: f32 }

// Gradient collected for column w0 + j of the window starting at w0 (zero beyond it).
fn pending_at(g: Pending3, j: i32) -> f32 {
  return select(select(select(0.0, g.c, j == 2), g.b, j == 1), g.a, j == 0);
}

fn shift3(g: Pending3) -> Pending3 {
  if (p.stride == 1u) { return Pending3(g.b, g.c, 0.0); }
  if (p.stride == 2u) { return Pending3(g.c, 0.0, 0.0); }
  return Pending3(0.0, 0.0, 0.0);
}

// Input columns final after window ow: those left of the next window, or all after the last one.
fn final_columns(ow: u32, next_w0: i32) -> i32 {
  return select(min(next_w0, i32(p.width)), i32(p.width), ow + 1u == p.out_width);
}

// (dy, argmax) → (dx), one invocation per input row: each window's gradient goes to its argmax tap.
@compute @workgroup_size(WG) fn max_pool3_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = flat_index(gid, nwg, WG);
  if (row >= p.total) { return; }
  let ih = row % p.height;
  let rows = covering(ih, p.out_height);
  let out_base = (row / p.height) * p.out_height * p.out_width;
  var g = Pending3(0.0, 0.0, 0.0);
  var w0 = -i32(p.pad);
  var written = 0;
  for (var ow = 0u; ow < p.out_width; ow++) {
    for (var oh = rows.x; oh <= rows.y; oh++) {
      let o = out_base + u32(oh) * p.out_width + ow;
      let tap = i32(argmax[o]);
      if (tap / 3 == i32(ih) - window_start(u32(oh))) {
        let d = dy[o];
        g = Pending3(g.a + select(0.0, d, tap % 3 == 0), g.b + select(0.0, d, tap % 3 == 1), g.c + select(0.0, d, tap % 3 == 2));
      }
    }
    let next_w0 = w0 + i32(p.stride);
    for (; written < final_columns(ow, next_w0); written++) { out3[row * p.width + u32(written)] = pending_at(g, written - w0); }
    g = shift3(g);
    w0 = next_w0;
  }
}

// (dy) → (dx), one invocation per input row: each window spreads dy / taps over its taps.
@compute @workgroup_size(WG) fn avg_pool3_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = flat_index(gid, nwg, WG);
  if (row >= p.total) { return; }
  let rows = covering(row % p.height, p.out_height);
  let out_base = (row / p.height) * p.out_height * p.out_width;
  var g = Pending3(0.0, 0.0, 0.0);
  var w0 = -i32(p.pad);
  var written = 0;
  for (var ow = 0u; ow < p.out_width; ow++) {
    for (var oh = rows.x; oh <= rows.y; oh++) {
      let d = dy[out_base + u32(oh) * p.out_width + ow] / taps(u32(oh), ow);
      g = Pending3(g.a + d, g.b + d, g.c + d);
    }
    let next_w0 = w0 + i32(p.stride);
    for (; written < final_columns(ow, next_w0); written++) { out2[row * p.width + u32(written)] = pending_at(g, written - w0); }
    g = shift3(g);
    w0 = next_w0;
  }
}

// Any k×k average window: one invocation per output, and per input value in the backward.

// (x) → (y): mean over the in-image taps (count_include_pad=False).
@compute @workgroup_size(WG) fn avg_pool_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg, WG);
  if (i >= p.total) { return; }
  let o = pixel(i, p.out_height, p.out_width);
  let h0 = window_start(o.row);
  let w0 = window_start(o.col);
  let base = o.plane * p.height * p.width;
  var acc = 0.0;
  for (var h = max(h0, 0); h < min(h0 + i32(p.kernel), i32(p.height)); h++) {
    for (var w = max(w0, 0); w < min(w0 + i32(p.kernel), i32(p.width)); w++) {
      acc += x[base + u32(h) * p.width + u32(w)];
    }
  }
  out2[i] = acc / taps(o.row, o.col);
}

// (dy) → (dx)
@compute @workgroup_size(WG) fn avg_pool_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg, WG);
  if (i >= p.total) { return; }
  let px = pixel(i, p.height, p.width);
  let rows = covering(px.row, p.out_height);
  let cols = covering(px.col, p.out_width);
  let base = px.plane * p.out_height * p.out_width;
  var acc = 0.0;
  for (var oh = rows.x; oh <= rows.y; oh++) {
    for (var ow = cols.x; ow <= cols.y; ow++) {
      acc += dy[base + u32(oh) * p.out_width + u32(ow)] / taps(u32(oh), u32(ow));
    }
  }
  out2[i] = acc;
}

// (x) → (y [N, C]): one invocation per plane.
@compute @workgroup_size(WG) fn global_avg_pool_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg, WG);
  if (i >= p.total) { return; }
  let size = p.height * p.width;
  var acc = 0.0;
  for (var s = 0u; s < size; s++) { acc += x[i * size + s]; }
  out2[i] = acc / f32(size);
}

// (dy [N, C]) → (dx)
@compute @workgroup_size(WG) fn global_avg_pool_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg, WG);
  if (i >= p.total) { return; }
  let size = p.height * p.width;
  out2[i] = dy[i / size] / f32(size);
}
