// Batched strided GEMM: C[b, m, n] (+)= sum_k A(b, m, k) * B(b, k, n).
// Every operand is addressed through strides, so transposes, NCHW pointwise convolutions and
// their weight gradients (k running over batch and pixels, k = ko * KI + ki) need no copies.
// Each invocation owns a 4x4 block of C in registers. gemm uses no workgroup memory and no barriers
// (barriers are very slow on software Vulkan); gemm_tiled, for real GPUs, stages 16-deep slices of A
// and B in workgroup memory, read once from global memory for the whole workgroup. Both add each
// product into C in the same order (k ascending), so they give the same bits; the autotune picks.
struct Params {
  M: u32, N: u32, KI: u32, KO: u32,
  a_b: u32, a_m: u32, a_ki: u32, a_ko: u32,
  b_b: u32, b_k: u32, b_n: u32, b_ko: u32,
  c_b: u32, c_m: u32, accumulate: u32, pad0: u32,
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;

@compute @workgroup_size(16, 8, 1) fn gemm(@builtin(global_invocation_id) gid: vec3u) {
  let n0 = gid.x * 4u;
  let m0 = gid.y * 4u;
  let batch = gid.z;
  if (m0 >= p.M || n0 >= p.N) { return; }
  // Out-of-range rows and columns read a valid clamped address and are simply not stored.
  let mr = vec4u(min(m0, p.M - 1u), min(m0 + 1u, p.M - 1u), min(m0 + 2u, p.M - 1u), min(m0 + 3u, p.M - 1u));
  let nc = vec4u(min(n0, p.N - 1u), min(n0 + 1u, p.N - 1u), min(n0 + 2u, p.N - 1u), min(n0 + 3u, p.N - 1u));
  let a_rows = batch * p.a_b + mr * p.a_m;
  let b_cols = batch * p.b_b + nc * p.b_n;
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  for (var ko = 0u; ko < p.KO; ko++) {
    let a_o = a_rows + ko * p.a_ko;
    let b_o = b_cols + ko * p.b_ko;
    for (var ki = 0u; ki < p.KI; ki++) {
      let ai = a_o + ki * p.a_ki;
      let bi = b_o + ki * p.b_k;
      let bv = vec4f(B[bi.x], B[bi.y], B[bi.z], B[bi.w]);
      acc0 += A[ai.x] * bv;
      acc1 += A[ai.y] * bv;
      acc2 += A[ai.z] * bv;
      acc3 += A[ai.w] * bv;
    }
  }
  store_block(batch, m0, n0, array<vec4f, 4>(acc0, acc1, acc2, acc3));
}

// The 4×4 block of C at (m0, n0), its rows and columns past the matrix left out.
fn store_block(batch: u32, m0: u32, n0: u32, rows: array<vec4f, 4>) {
  for (var r = 0u; r < 4u; r++) {
    let m = m0 + r;
    if (m >= p.M) { break; }
    let base = batch * p.c_b + m * p.c_m + n0;
    for (var c = 0u; c < 4u; c++) {
      if (n0 + c >= p.N) { break; }
      let prior = select(0.0, C[base + c], p.accumulate != 0u);
      C[base + c] = prior + rows[r][c];
    }
  }
}

// A workgroup's tile of C: TM rows by TN columns, the (16, 8) invocations 4×4 each; K in slices of TK.
const TM = 32u;
const TN = 64u;
const TK = 16u;
var<workgroup> tile_a: array<f32, 512>; // [TK][TM]
var<workgroup> tile_b: array<f32, 1024>; // [TK][TN]

// Element k (= ko·KI + ki) of A's row m or B's column n; zero outside the matrix.
fn a_at(batch: u32, m: u32, k: u32, K: u32) -> f32 {
  if (m >= p.M || k >= K) { return 0.0; }
  return A[batch * p.a_b + m * p.a_m + (k / p.KI) * p.a_ko + (k % p.KI) * p.a_ki];
}

fn b_at(batch: u32, k: u32, n: u32, K: u32) -> f32 {
  if (n >= p.N || k >= K) { return 0.0; }
  return B[batch * p.b_b + n * p.b_n + (k / p.KI) * p.b_ko + (k % p.KI) * p.b_k];
}

@compute @workgroup_size(16, 8, 1) fn gemm_tiled(@builtin(global_invocation_id) gid: vec3u, @builtin(local_invocation_id) lid: vec3u,
                                                 @builtin(workgroup_id) wid: vec3u) {
  let n0 = gid.x * 4u;
  let m0 = gid.y * 4u;
  let batch = gid.z;
  let K = p.KI * p.KO;
  let me = lid.y * 16u + lid.x;
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  for (var k0 = 0u; k0 < K; k0 += TK) {
    // Neighbouring invocations load neighbouring k of A and neighbouring n of B.
    for (var e = me; e < TM * TK; e += 128u) {
      tile_a[(e % TK) * TM + e / TK] = a_at(batch, wid.y * TM + e / TK, k0 + e % TK, K);
    }
    for (var e = me; e < TK * TN; e += 128u) {
      tile_b[e] = b_at(batch, k0 + e / TN, wid.x * TN + e % TN, K);
    }
    workgroupBarrier();
    let a0 = lid.y * 4u;
    let b0 = lid.x * 4u;
    for (var kk = 0u; kk < min(TK, K - k0); kk++) {
      let bv = vec4f(tile_b[kk * TN + b0], tile_b[kk * TN + b0 + 1u], tile_b[kk * TN + b0 + 2u], tile_b[kk * TN + b0 + 3u]);
      acc0 += tile_a[kk * TM + a0] * bv;
      acc1 += tile_a[kk * TM + a0 + 1u] * bv;
      acc2 += tile_a[kk * TM + a0 + 2u] * bv;
      acc3 += tile_a[kk * TM + a0 + 3u] * bv;
    }
    workgroupBarrier();
  }
  store_block(batch, m0, n0, array<vec4f, 4>(acc0, acc1, acc2, acc3));
}
