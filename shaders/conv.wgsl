// 2-D convolutions, NCHW, bias-free cross-correlation as in PyTorch:
//   y[n, o, oh, ow] = Σ w[o, i, kh, kw] · x[n, i, oh·s − pad + kh·d, ow·s − pad + kw·d]
// Depthwise (groups = C, weight [C, 1, KH, KW]) and dense (groups = 1, weight [O, I, KH, KW]) kernels;
// 1×1 stride-1 convolutions go through the GEMM in matmul.wgsl instead.
//
// Every result is a gather summed in a fixed order by the one invocation that writes it (no atomics),
// so runs are bitwise reproducible. The input gradient is the transposed gather: an input pixel sums
// the outputs that read it. The weight gradient is a reduction over N·OH·OW: each invocation sums a
// fixed chunk of `chunk_rows` (n, oh) rows into partial[chunk, weight], and reduce/sum_cols adds the
// chunks in order.
//
// Loads, not arithmetic, bound these kernels (on SwiftShader every lane's load is a separate gather),
// so each invocation owns 8 neighbouring columns of a row (a mat2x4f) and each weight it loads feeds 8
// multiply-adds; the dense kernels own 4 channels of them, so each input value feeds 4 as well. Those
// registers replace workgroup memory: no barriers (very slow on SwiftShader), and on real GPUs the
// neighbouring lanes' rows meet in the L1 cache.
//
// The input may be cropped to x[:, :, top:, left:] (FactorizedReduce's shifted half) without a copy:
// an input row or column is real if it lies in [top, H) (resp. [left, W)), padding lies outside it,
// and the input gradient is zero over the cropped-away border.
struct Params {
  n: u32, ci: u32, co: u32, chunk_rows: u32,
  h: u32, w: u32, oh: u32, ow: u32,
  kh: u32, kw: u32, stride: u32, dil: u32,
  pad: u32, top: u32, left: u32, chunks: u32,
  // Nonzero: the input is read through ReLU, conv(relu(x), w) (forward and weight-gradient launches only).
  relu_input: u32,
  // Nonzero: the input gradient is of conv(relu(x), w), so dx passes ReLU's gradient (input-gradient
  // launches only, whose bindings are (dy, w, x) → dx).
  relu_grad: u32,
}
@group(0) @binding(0) var<uniform> p: Params;
// Read row by row through row8: x, or dy for the input gradient.
@group(0) @binding(1) var<storage, read> a: array<f32>;
// Weights, or dy for the weight gradient.
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
// The input-gradient kernels' bindings are (dy, w, x) → dx: x is read only where relu_grad is set.
@group(0) @binding(3) var<storage, read> relu_x: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;

const WG = 64u;

// Physical input row (or column) that output index o reads through tap k; `first` is top (or left).
fn src(o: u32, k: u32, first: u32) -> i32 {
  return i32(o * p.stride + k * p.dil + first) - i32(p.pad);
}

// ---- Loading rows.

fn ld(base: u32, pos: i32, lo: i32, hi: i32) -> f32 {
  let ok = pos >= lo && pos < hi;
  let v = a[select(base, base + u32(pos), ok)];
  return select(0.0, select(v, max(v, 0.0), p.relu_input != 0u), ok);
}

fn row4(base: u32, pos: i32, step: i32, lo: i32, hi: i32) -> vec4f {
  return vec4f(ld(base, pos, lo, hi), ld(base, pos + step, lo, hi), ld(base, pos + 2 * step, lo, hi), ld(base, pos + 3 * step, lo, hi));
}

// a[base + pos + j·step] for j < 8, zero where the position is outside [lo, hi) or j ≥ count.
fn row8(base: u32, pos: i32, step: i32, lo: u32, hi: u32, count: u32) -> mat2x4f {
  let end = min(i32(hi), pos + i32(count) * step);
  return mat2x4f(row4(base, pos, step, i32(lo), end), row4(base, pos + 4 * step, step, i32(lo), end));
}

// b[base + j] for j < 8; indices past `last` repeat it (the caller zeroes those products).
fn b8(base: u32, last: u32) -> mat2x4f {
  let i = min(vec4u(base) + vec4u(0u, 1u, 2u, 3u), vec4u(last));
  let k = min(vec4u(base) + vec4u(4u, 5u, 6u, 7u), vec4u(last));
  return mat2x4f(vec4f(b[i.x], b[i.y], b[i.z], b[i.w]), vec4f(b[k.x], b[k.y], b[k.z], b[k.w]));
}

// b[base + q·stride] for q < 4, clamped to `last` (channels past the end are computed, never stored).
fn b4(base: u32, stride: u32, last: u32) -> vec4f {
  let i = min(vec4u(base) + vec4u(0u, 1u, 2u, 3u) * stride, vec4u(last));
  return vec4f(b[i.x], b[i.y], b[i.z], b[i.w]);
}

fn dot8(u: mat2x4f, v: mat2x4f) -> f32 {
  return dot(u[0], v[0]) + dot(u[1], v[1]);
}

// ---- Tap ranges.

// d > 0; one division (integer division is slow on SwiftShader).
fn floor_div(x: i32, d: i32) -> i32 {
  return (x - select(0, d - 1, x < 0)) / d;
}

fn ceil_div(x: i32, d: i32) -> i32 {
  return -floor_div(-x, d);
}

// Taps m < count whose position pos0 + m·step lies in [lo, hi), as [first, end) (contiguous, the
// positions being monotonic in m). Loops run over these instead of skipping taps that fall in the
// padding: a skipped iteration still costs its full price on SwiftShader, which executes both sides
// of a branch (it only leaves a loop early, once no lane needs it).
fn taps_within(pos0: i32, step: i32, lo: u32, hi: u32, count: u32) -> vec2u {
  var first: i32;
  var last: i32;
  if (step > 0) {
    first = ceil_div(i32(lo) - pos0, step);
    last = floor_div(i32(hi) - 1 - pos0, step);
  } else {
    first = ceil_div(pos0 - i32(hi) + 1, -step);
    last = floor_div(pos0 - i32(lo), -step);
  }
  let f = clamp(first, 0, i32(count));
  return vec2u(u32(f), u32(clamp(last + 1, f, i32(count))));
}

// The taps of one axis that input position pos meets in the input gradient: tap k reads it from output
// (pos + pad − first_real − k·d) / s when that divides, i.e. for k = first, first + every, …; the output
// index starts at pos0 and moves by pstep per tap. `t` is pos + pad − first_real.
struct Taps { first: u32, every: u32, count: u32, pos0: i32, pstep: i32 }

fn transposed_taps(t: i32, taps: u32) -> Taps {
  let s = i32(p.stride);
  let d = i32(p.dil);
  var every = 1;
  while ((every * d) % s != 0) { every++; }
  var first = 0;
  while (first < every && (t - first * d) % s != 0) { first++; }
  let count = select(0, (i32(taps) - first + every - 1) / every, first < min(every, i32(taps)));
  return Taps(u32(first), u32(every), u32(count), (t - first * d) / s, -(d * every) / s);
}

// ---- Storing.

// An output row: out[base + j] for j < count.
fn store_row(base: u32, v: mat2x4f, count: u32) {
  for (var j = 0u; j < min(count, 8u); j++) { out[base + j] = v[j / 4u][j % 4u]; }
}

// An input-gradient row of one stride phase: columns iw0 + j·stride, zero where the input was cropped
// away, and where relu_grad is set, zero where x is not above zero (elementwise/relu_backward's rule).
fn store_input_row(base: u32, ih: u32, iw0: u32, v: mat2x4f, count: u32) {
  for (var j = 0u; j < min(count, 8u); j++) {
    let iw = iw0 + j * p.stride;
    let passes = p.relu_grad == 0u || relu_x[base + iw] > 0.0;
    dx[base + iw] = select(0.0, v[j / 4u][j % 4u], ih >= p.top && iw >= p.left && passes);
  }
}

// Input-gradient invocations: (8-column block, stride phase, input row, plane); the columns of one
// phase (iw ≡ phase mod stride) all meet the same taps, so each tap reads 8 contiguous outputs.
struct InputBlock { ih: u32, iw0: u32, count: u32, plane: u32, valid: bool }

fn input_block(i: u32, planes: u32) -> InputBlock {
  let blocks = ((p.w + p.stride - 1u) / p.stride + 7u) / 8u;
  var t = i / blocks;
  let phase = t % p.stride;
  t /= p.stride;
  let iw0 = phase + (i % blocks) * 8u * p.stride;
  let plane = t / p.h;
  let valid = plane < planes && iw0 < p.w;
  return InputBlock(t % p.h, iw0, select(0u, min(8u, (p.w - iw0 + p.stride - 1u) / p.stride), valid), plane, valid);
}

// Weight-gradient rows of one chunk: (n, oh) pairs [first, end).
fn chunk_rows(chunk: u32) -> vec2u {
  let first = chunk * p.chunk_rows;
  return vec2u(first, min(p.n * p.oh, first + p.chunk_rows));
}

// Output rows that read a real input row through tap kh.
fn real_rows(kh: u32) -> vec2u {
  return taps_within(src(0u, kh, p.top), i32(p.stride), p.top, p.h, p.oh);
}

// The rows among `real` of image n that lie in the chunk `rows`.
fn image_rows(n: u32, rows: vec2u, real: vec2u) -> vec2u {
  let start = n * p.oh;
  return vec2u(max(real.x, select(0u, rows.x - start, rows.x > start)), min(real.y, rows.y - start));
}

// ---- Depthwise: groups = C, weight [C, 1, KH, KW] (p.ci = p.co = C).

// Invocation: (8-column block, output row, plane n·C + c).
@compute @workgroup_size(WG) fn dw_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg, WG);
  let blocks = (p.ow + 7u) / 8u;
  let ow0 = (i % blocks) * 8u;
  let oh = (i / blocks) % p.oh;
  let plane = i / blocks / p.oh;
  if (plane >= p.n * p.ci) { return; }
  let w0 = (plane % p.ci) * p.kh * p.kw;
  let rows = taps_within(src(oh, 0u, p.top), i32(p.dil), p.top, p.h, p.kh);
  let iw = src(ow0, 0u, p.left);
  var acc = mat2x4f();
  for (var kh = rows.x; kh < rows.y; kh++) {
    let base = (plane * p.h + u32(src(oh, kh, p.top))) * p.w;
    for (var kw = 0u; kw < p.kw; kw++) {
      acc += b[w0 + kh * p.kw + kw] * row8(base, iw + i32(kw * p.dil), i32(p.stride), p.left, p.w, 8u);
    }
  }
  store_row((plane * p.oh + oh) * p.ow + ow0, acc, p.ow - ow0);
}

// The same convolution for real GPUs: a workgroup computes a tile of `tile_rows` × 8·`tile_blocks`
// outputs of one plane (the forward's chunk_rows and chunks carry them) from its input window,
// loaded once into workgroup memory with the padding as zeros. Each output sums the same taps in
// the same order as dw_forward, so both give the same bits.
const DW_TILE = 3105u;
var<workgroup> window: array<f32, DW_TILE>;

@compute @workgroup_size(WG) fn dw_forward_tiled(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wid: vec3u,
                                                 @builtin(num_workgroups) nwg: vec3u) {
  let tile_rows = p.chunk_rows;
  let tile_blocks = p.chunks;
  let across = (p.ow + 8u * tile_blocks - 1u) / (8u * tile_blocks);
  let down = (p.oh + tile_rows - 1u) / tile_rows;
  let t = wid.x + wid.y * nwg.x;
  let plane = t / across / down;
  let oh0 = (t / across % down) * tile_rows;
  let ow0 = (t % across) * 8u * tile_blocks;
  let wide = (8u * tile_blocks - 1u) * p.stride + (p.kw - 1u) * p.dil + 1u;
  let high = (tile_rows - 1u) * p.stride + (p.kh - 1u) * p.dil + 1u;
  let ih0 = src(oh0, 0u, p.top);
  let iw0 = src(ow0, 0u, p.left);
  let valid = plane < p.n * p.ci;
  for (var e = li; e < wide * high && valid; e += WG) {
    // Loaded through ld(), as dw_forward's rows are: padding columns zero, x read through ReLU where asked.
    let ih = ih0 + i32(e / wide);
    let real_row = ih >= i32(p.top) && ih < i32(p.h);
    let row = (plane * p.h + u32(select(i32(p.top), ih, real_row))) * p.w;
    window[e] = select(0.0, ld(row, iw0 + i32(e % wide), i32(p.left), i32(p.w)), real_row);
  }
  workgroupBarrier();
  let oh = oh0 + li / tile_blocks;
  let ow = ow0 + (li % tile_blocks) * 8u;
  if (!valid || li >= tile_rows * tile_blocks || oh >= p.oh || ow >= p.ow) { return; }
  let w0 = (plane % p.ci) * p.kh * p.kw;
  let rows = taps_within(src(oh, 0u, p.top), i32(p.dil), p.top, p.h, p.kh);
  var acc = mat2x4f();
  for (var kh = rows.x; kh < rows.y; kh++) {
    let base = ((oh - oh0) * p.stride + kh * p.dil) * wide + (ow - ow0) * p.stride;
    for (var kw = 0u; kw < p.kw; kw++) {
      let c = base + kw * p.dil;
      let x0 = vec4f(window[c], window[c + p.stride], window[c + 2u * p.stride], window[c + 3u * p.stride]);
      let x1 = vec4f(window[c + 4u * p.stride], window[c + 5u * p.stride], window[c + 6u * p.stride], window[c + 7u * p.stride]);
      acc += b[w0 + kh * p.kw + kw] * mat2x4f(x0, x1);
    }
  }
  store_row((plane * p.oh + oh) * p.ow + ow, acc, p.ow - ow);
}

// dx = Σ over taps of w · dy. Bindings: a = dy, b = w, then relu_x → dx.
@compute @workgroup_size(WG) fn dw_backward_input(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let blk = input_block(flat_index(gid, nwg, WG), p.n * p.ci);
  if (!blk.valid) { return; }
  let w0 = (blk.plane % p.ci) * p.kh * p.kw;
  let rows = transposed_taps(i32(blk.ih + p.pad) - i32(p.top), p.kh);
  let cols = transposed_taps(i32(blk.iw0 + p.pad) - i32(p.left), p.kw);
  let real = taps_within(rows.pos0, rows.pstep, 0u, p.oh, rows.count);
  var acc = mat2x4f();
  for (var m = real.x; m < real.y; m++) {
    let wrow = w0 + (rows.first + m * rows.every) * p.kw + cols.first;
    let base = (blk.plane * p.oh + u32(rows.pos0 + i32(m) * rows.pstep)) * p.ow;
    for (var mc = 0u; mc < cols.count; mc++) {
      acc += b[wrow + mc * cols.every] * row8(base, cols.pos0 + i32(mc) * cols.pstep, 1, 0u, p.ow, 8u);
    }
  }
  store_input_row((blk.plane * p.h + blk.ih) * p.w, blk.ih, blk.iw0, acc, blk.count);
}

// Σ_ow dy[ybase + ow] · x[xbase + pos0 + ow·stride] over one output row, x zero outside [left, W).
fn weight_row(xbase: u32, ybase: u32, pos0: i32) -> vec4f {
  let s = i32(p.stride);
  let last = ybase + p.ow - 1u;
  var acc = vec4f();
  for (var ow0 = 0u; ow0 < p.ow; ow0 += 8u) {
    let xv = row8(xbase, pos0 + i32(ow0) * s, s, p.left, p.w, p.ow - ow0);
    let dv = b8(ybase + ow0, last);
    acc += xv[0] * dv[0] + xv[1] * dv[1];
  }
  return acc;
}

// partial[chunk, c·KH·KW + tap] = Σ over the chunk's rows of dy · x. Bindings: a = x, b = dy.
@compute @workgroup_size(WG) fn dw_backward_weight(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg, WG);
  let weights = p.ci * p.kh * p.kw;
  let chunk = i / weights;
  if (chunk >= p.chunks) { return; }
  let wi = i % weights;
  let c = wi / (p.kh * p.kw);
  let kh = (wi / p.kw) % p.kh;
  let pos0 = src(0u, wi % p.kw, p.left);
  let rows = chunk_rows(chunk);
  let real = real_rows(kh);
  var acc = vec4f();
  for (var n = rows.x / p.oh; n * p.oh < rows.y; n++) {
    let span = image_rows(n, rows, real);
    for (var oh = span.x; oh < span.y; oh++) {
      let xbase = ((n * p.ci + c) * p.h + u32(src(oh, kh, p.top))) * p.w;
      acc += weight_row(xbase, ((n * p.ci + c) * p.oh + oh) * p.ow, pos0);
    }
  }
  out[chunk * weights + wi] = acc.x + acc.y + acc.z + acc.w;
}

// ---- Dense: groups = 1, weight [O, I, KH, KW] (p.ci = I, p.co = O). Each invocation owns 4 channels.

// Invocation: (8-column block, output row, block of 4 output channels, image).
@compute @workgroup_size(WG) fn dense_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg, WG);
  let blocks = (p.ow + 7u) / 8u;
  let groups = (p.co + 3u) / 4u;
  let ow0 = (i % blocks) * 8u;
  let oh = (i / blocks) % p.oh;
  let o0 = (i / blocks / p.oh % groups) * 4u;
  let n = i / blocks / p.oh / groups;
  if (n >= p.n) { return; }
  let taps = p.kh * p.kw;
  let wstride = p.ci * taps;
  let wlast = p.co * wstride - 1u;
  let rows = taps_within(src(oh, 0u, p.top), i32(p.dil), p.top, p.h, p.kh);
  var acc0 = mat2x4f();
  var acc1 = mat2x4f();
  var acc2 = mat2x4f();
  var acc3 = mat2x4f();
  for (var kh = rows.x; kh < rows.y; kh++) {
    let ih = u32(src(oh, kh, p.top));
    for (var kw = 0u; kw < p.kw; kw++) {
      let iw = src(ow0, kw, p.left);
      for (var ci = 0u; ci < p.ci; ci++) {
        let xv = row8(((n * p.ci + ci) * p.h + ih) * p.w, iw, i32(p.stride), p.left, p.w, 8u);
        let wv = b4(o0 * wstride + ci * taps + kh * p.kw + kw, wstride, wlast);
        acc0 += wv.x * xv;
        acc1 += wv.y * xv;
        acc2 += wv.z * xv;
        acc3 += wv.w * xv;
      }
    }
  }
  let base = ((n * p.co + o0) * p.oh + oh) * p.ow + ow0;
  let count = p.ow - ow0;
  let plane = p.oh * p.ow;
  store_row(base, acc0, count);
  if (o0 + 1u < p.co) { store_row(base + plane, acc1, count); }
  if (o0 + 2u < p.co) { store_row(base + 2u * plane, acc2, count); }
  if (o0 + 3u < p.co) { store_row(base + 3u * plane, acc3, count); }
}

// Invocation: input_block over planes (block of 4 input channels, image). Bindings: a = dy, b = w,
// then relu_x → dx.
@compute @workgroup_size(WG) fn dense_backward_input(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let groups = (p.ci + 3u) / 4u;
  let blk = input_block(flat_index(gid, nwg, WG), p.n * groups);
  if (!blk.valid) { return; }
  let i0 = (blk.plane % groups) * 4u;
  let n = blk.plane / groups;
  let taps = p.kh * p.kw;
  let wlast = p.co * p.ci * taps - 1u;
  let rows = transposed_taps(i32(blk.ih + p.pad) - i32(p.top), p.kh);
  let cols = transposed_taps(i32(blk.iw0 + p.pad) - i32(p.left), p.kw);
  let real = taps_within(rows.pos0, rows.pstep, 0u, p.oh, rows.count);
  var acc0 = mat2x4f();
  var acc1 = mat2x4f();
  var acc2 = mat2x4f();
  var acc3 = mat2x4f();
  for (var m = real.x; m < real.y; m++) {
    let kh = rows.first + m * rows.every;
    let oh = u32(rows.pos0 + i32(m) * rows.pstep);
    for (var mc = 0u; mc < cols.count; mc++) {
      let kw = cols.first + mc * cols.every;
      let ow = cols.pos0 + i32(mc) * cols.pstep;
      for (var o = 0u; o < p.co; o++) {
        let dv = row8(((n * p.co + o) * p.oh + oh) * p.ow, ow, 1, 0u, p.ow, 8u);
        let wv = b4((o * p.ci + i0) * taps + kh * p.kw + kw, taps, wlast);
        acc0 += wv.x * dv;
        acc1 += wv.y * dv;
        acc2 += wv.z * dv;
        acc3 += wv.w * dv;
      }
    }
  }
  let base = ((n * p.ci + i0) * p.h + blk.ih) * p.w;
  let plane = p.h * p.w;
  store_input_row(base, blk.ih, blk.iw0, acc0, blk.count);
  if (i0 + 1u < p.ci) { store_input_row(base + plane, blk.ih, blk.iw0, acc1, blk.count); }
  if (i0 + 2u < p.ci) { store_input_row(base + 2u * plane, blk.ih, blk.iw0, acc2, blk.count); }
  if (i0 + 3u < p.ci) { store_input_row(base + 3u * plane, blk.ih, blk.iw0, acc3, blk.count); }
}

// partial[chunk, weight] for a 4×4 block of (o, i) at one tap. Invocation: (tap, i block, o block, chunk).
// Bindings: a = x, b = dy.
@compute @workgroup_size(WG) fn dense_backward_weight(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flat_index(gid, nwg, WG);
  let taps = p.kh * p.kw;
  let igroups = (p.ci + 3u) / 4u;
  let ogroups = (p.co + 3u) / 4u;
  let chunk = i / taps / igroups / ogroups;
  if (chunk >= p.chunks) { return; }
  let tap = i % taps;
  let i0 = (i / taps % igroups) * 4u;
  let o0 = (i / taps / igroups % ogroups) * 4u;
  let kh = tap / p.kw;
  let pos0 = src(0u, tap % p.kw, p.left);
  let ylast = p.n * p.co * p.oh * p.ow - 1u;
  let ostride = p.oh * p.ow;
  // Channels past the end repeat the last one; their sums are not stored.
  let ci = min(vec4u(i0) + vec4u(0u, 1u, 2u, 3u), vec4u(p.ci - 1u));
  let rows = chunk_rows(chunk);
  let real = real_rows(kh);
  // acc[c][q]: input channel i0 + c, output channel o0 + q.
  var acc = mat4x4f();
  for (var n = rows.x / p.oh; n * p.oh < rows.y; n++) {
    let span = image_rows(n, rows, real);
    for (var oh = span.x; oh < span.y; oh++) {
      let ih = u32(src(oh, kh, p.top));
      let ybase = ((n * p.co + o0) * p.oh + oh) * p.ow;
      for (var ow0 = 0u; ow0 < p.ow; ow0 += 8u) {
        let yrow = ybase + ow0;
        let d0 = b8(yrow, ylast);
        let d1 = b8(yrow + ostride, ylast);
        let d2 = b8(yrow + 2u * ostride, ylast);
        let d3 = b8(yrow + 3u * ostride, ylast);
        let iw = pos0 + i32(ow0 * p.stride);
        for (var c = 0u; c < 4u; c++) {
          let xv = row8(((n * p.ci + ci[c]) * p.h + ih) * p.w, iw, i32(p.stride), p.left, p.w, p.ow - ow0);
          acc[c] += vec4f(dot8(d0, xv), dot8(d1, xv), dot8(d2, xv), dot8(d3, xv));
        }
      }
    }
  }
  let base = chunk * p.co * p.ci * taps + (o0 * p.ci + i0) * taps + tap;
  for (var q = 0u; q < min(4u, p.co - o0); q++) {
    for (var c = 0u; c < min(4u, p.ci - i0); c++) {
      out[base + (q * p.ci + c) * taps] = acc[c][q];
    }
  }
}
