// shaders/matmul.wgsl: batched strided GEMM, C[b, m, n] (+)= Σ_k A(b, m, k)·B(b, k, n), with
// k = ko·KI + ki running over two strided axes. Blocked for the caches: for each block of KC
// reduction steps, each 8-column panel of B (read in place when its rows are contiguous and one
// strip of A reads it, packed otherwise) meets every 4-row strip of A in the 4×8 register tile
// (tile.h), or, for contiguous rows and several strips, strips of 6 and 4 rows with A packed too.
// Where both A and B run along k contiguously (a weight gradient over pixels), each value of C is a
// dot product instead, both read in place (gemm_dot_range).
#include "tile.h"

typedef struct {
  u32 M, N, KI, KO;
  u32 a_b, a_m, a_ki, a_ko;
  u32 b_b, b_k, b_n, b_ko;
  u32 c_b, c_m, accumulate, pad0;
} Params;

// A work item is one block of C: MB rows × block_cols columns of one batch entry.
#define MB 64
#define NB 256

// Columns of C per work item this launch: NB, or fewer where NB would leave under four items per
// thread (a weight gradient's small C over a long k, which would run on one thread). A multiple of
// TILE_N, so every value of C comes from the same tile (its strip of A is set by its MB-row block),
// summed in the same order, whatever the split and the thread count. Set before the launch's
// parallel_for, which publishes it to the workers.
static u32 block_cols = NB;

// Packed strips of A are WIDE_M rows where they can be, else TILE_M: the wide tile's twelve
// accumulators leave each B vector and A splat feeding more multiply-adds (in this engine's
// registers, 15 of x64's 16), about a tenth faster than the 4×8 tile where both sit in L1.
#define WIDE_M 6

// How many wide strips rows [m0, m1) take: as many as leave a multiple of TILE_M rows (none where
// no count does), so that only a last 4-row strip, where the rows run out, computes rows it does
// not store.
static u32 wide_strips(u32 m0, u32 m1) {
  u32 rows = m1 - m0, wide = rows / WIDE_M;
  while (wide && (rows - wide * WIDE_M) % TILE_M) wide--;
  return wide;
}

// Copies the strips of A's rows [m0, m1) over kc reduction steps into apack, strip after strip,
// each as kc groups of its rows' values at one k (zero past m1): wide_strips of WIDE_M rows, then
// strips of TILE_M.
static void pack_strips(const Params *p, const float *A, u32 m0, u32 m1, u32 kc, float *apack) {
  u32 wide_end = m0 + wide_strips(m0, m1) * WIDE_M;
  for (u32 m = m0; m < m1;) {
    u32 rows = m < wide_end ? WIDE_M : TILE_M;
    for (u32 k = 0; k < kc; k++) {
      for (u32 r = 0; r < rows; r++) apack[k * rows + r] = m + r < m1 ? A[(m + r) * p->a_m + k * p->a_ki] : 0.0f;
    }
    apack += kc * rows;
    m += rows;
  }
}

// Copies 16 columns of the rows B + boff[k] into two packed panels (columns 0–7 into lo, 8–15
// into hi): a whole cache line of each row at once.
static void pack_pair(u32 kc, const float *B, const i32 *boff, float *lo, float *hi) {
  for (u32 k = 0; k < kc; k++) {
    const float *b = B + boff[k];
    wasm_v128_store(lo + k * TILE_N, wasm_v128_load(b));
    wasm_v128_store(lo + k * TILE_N + 4, wasm_v128_load(b + 4));
    wasm_v128_store(hi + k * TILE_N, wasm_v128_load(b + 8));
    wasm_v128_store(hi + k * TILE_N + 4, wasm_v128_load(b + 12));
  }
}

// p, hidden from the optimizer: loop strength reduction would otherwise turn each load's constant
// offset from it into an induction variable of its own, an add per load in the JIT's code, where
// the load's offset immediate costs nothing.
static inline const float *opaque(const float *p) {
  __asm__("" : "+r"(p));
  return p;
}

// tile() for a packed strip of A (`rows` ≤ WIDE_M values a k) and a packed panel of B: both walk
// forward by a pointer, with no per-k offsets to look up or add, which with a few dozen k per call
// is much of the work besides the arithmetic. `rows` is a constant where it is inlined, so the
// accumulators are registers; each value of C is the same sum, in the same order, at any `rows`.
static inline __attribute__((always_inline)) void tile_packed_rows(u32 kc, const float *a, const float *b, float *C, u32 cm, u32 mr, u32 nr,
                                                                   int add, const u32 rows) {
  f4 acc[WIDE_M][2];
#pragma clang loop unroll(full)
  for (u32 r = 0; r < rows; r++) acc[r][0] = acc[r][1] = wasm_f32x4_splat(0);
  for (u32 k = 0; k < kc; k++) {
    const float *ak = opaque(a + k * rows), *bk = opaque(b + k * TILE_N);
    f4 b0 = wasm_v128_load(bk), b1 = wasm_v128_load(bk + 4);
#pragma clang loop unroll(full)
    for (u32 r = 0; r < rows; r++) {
      f4 x = wasm_v128_load32_splat(ak + r);
      acc[r][0] = madd(x, b0, acc[r][0]);
      acc[r][1] = madd(x, b1, acc[r][1]);
    }
  }
  store_tile(acc, C, cm, min_u(mr, TILE_M), nr, add);
  if (mr > TILE_M) store_tile(acc + TILE_M, C + TILE_M * cm, cm, mr - TILE_M, nr, add);
}

// A wide strip, every row stored; out of line, as inlined into packed_strips the JIT spills its
// twelve accumulators.
__attribute__((noinline)) static void tile_packed_wide(u32 kc, const float *a, const float *b, float *C, u32 cm, u32 nr, int add) {
  tile_packed_rows(kc, a, b, C, cm, WIDE_M, nr, add, WIDE_M);
}

// Every packed strip of rows [m0, m1) against one packed panel. Not inlined, like strips(): in
// gemm_range's big body the JIT's register allocator spills the accumulators.
__attribute__((noinline)) static void packed_strips(const float *apack, u32 m0, u32 m1, u32 kc, const float *panel, float *C, u32 cm, u32 nr, int add) {
  u32 m = m0, wide_end = m0 + wide_strips(m0, m1) * WIDE_M;
  for (; m < wide_end; m += WIDE_M, apack += kc * WIDE_M) tile_packed_wide(kc, apack, panel, C + m * cm, cm, nr, add);
  for (; m < m1; m += TILE_M, apack += kc * TILE_M) {
    tile_packed_rows(kc, apack, panel, C + m * cm, cm, min_u(TILE_M, m1 - m), nr, add, TILE_M);
  }
}

// One block of reduction steps of a block of C whose B rows are contiguous (b_n = 1), the
// convolutions' forward and input gradient: A's strips are packed once for all panels, and B's
// panels two at a time. Read in place, B's rows would be read again by every strip, and are
// often a power of two apart (a 32×32 plane is 4 KiB), so they share cache sets and fall out of
// L1 between strips, and between the two panels in one cache line.
static void block_rows(const Params *p, const float *apack, const float *B, const i32 *boff, u32 kc, u32 m0, u32 m1,
                       u32 n0, u32 n1, float *C, int add, float *panel, float *panel2) {
  u32 n = n0;
  for (; n + 2 * TILE_N <= n1; n += 2 * TILE_N) {
    pack_pair(kc, B + n, boff, panel, panel2);
    packed_strips(apack, m0, m1, kc, panel, C + n, p->c_m, TILE_N, add);
    packed_strips(apack, m0, m1, kc, panel2, C + n + TILE_N, p->c_m, TILE_N, add);
  }
  for (; n < n1; n += TILE_N) {
    pack_panel(kc, B + n, boff, min_u(TILE_N, n1 - n), panel);
    packed_strips(apack, m0, m1, kc, panel, C + n, p->c_m, min_u(TILE_N, n1 - n), add);
  }
}

// Every strip of A's rows [m0, m1) (A at the block's reduction step) against one panel of B.
__attribute__((noinline)) static void strips(const Params *p, const float *A, u32 m0, u32 m1, u32 kc, const float *B,
                                             const i32 *rows, float *C, u32 nr, int add) {
  for (u32 m = m0; m < m1; m += TILE_M) {
    tile(kc, A + m * p->a_m, p->a_m, p->a_ki, B, rows, C + m * p->c_m, p->c_m, min_u(TILE_M, m1 - m), nr, add);
  }
}

static void gemm_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  u32 mblocks = ceil_div_u(p->M, MB), nblocks = ceil_div_u(p->N, block_cols);
  i32 boff[KC], prow[KC];
  float panel[KC * TILE_N] __attribute__((aligned(16))), panel2[KC * TILE_N] __attribute__((aligned(16)));
  // Strips of a block of MB rows hold at most TILE_M − 1 rows of zeros past its end.
  float apack[(MB + TILE_M) * KC] __attribute__((aligned(16)));
  // What apack holds: rows [m0, m0 + MB) of A from a, over kc reduction steps.
  typedef struct {
    const float *a;
    u32 m0, kc;
  } Packed;
  Packed packed = { 0, 0, 0 };
  for (u32 item = lo; item < hi; item++) {
    u32 batch = item / (mblocks * nblocks), mb = item / nblocks % mblocks, nb = item % nblocks;
    u32 m0 = mb * MB, m1 = min_u(p->M, m0 + MB), n0 = nb * block_cols, n1 = min_u(p->N, n0 + block_cols);
    const float *A = c->io[0] + batch * p->a_b, *B = c->io[1] + batch * p->b_b;
    float *C = c->io[2] + batch * p->c_b;
    if (p->KI * p->KO == 0) {
      for (u32 m = m0; m < m1; m++) {
        for (u32 n = n0; n < n1; n++) C[m * p->c_m + n] = p->accumulate ? C[m * p->c_m + n] : 0.0f;
      }
      continue;
    }
    int first = 1;
    for (u32 ko = 0; ko < p->KO; ko++) {
      for (u32 k0 = 0; k0 < p->KI; k0 += KC) {
        u32 kc = min_u(KC, p->KI - k0);
        int add = !first || p->accumulate;
        first = 0;
        for (u32 k = 0; k < kc; k++) boff[k] = (i32)(ko * p->b_ko + (k0 + k) * p->b_k);
        packed_rows(kc, prow);
        if (p->b_n == 1 && m1 - m0 > TILE_M) {
          const float *a = A + ko * p->a_ko + k0 * p->a_ki;
          // A shared by the batch (a convolution's weights) is packed once per range.
          if (a != packed.a || m0 != packed.m0 || kc != packed.kc) {
            pack_strips(p, a, m0, m1, kc, apack);
            packed = (Packed){ a, m0, kc };
          }
          block_rows(p, apack, B, boff, kc, m0, m1, n0, n1, C, add, panel, panel2);
          continue;
        }
        for (u32 n = n0; n < n1; n += TILE_N) {
          u32 nr = min_u(TILE_N, n1 - n);
          const float *panelB = B + n * p->b_n;
          const i32 *rows = boff;
          if (p->b_n != 1 || nr < TILE_N) {
            for (u32 k = 0; k < kc; k++) {
              for (u32 j = 0; j < TILE_N; j++) panel[k * TILE_N + j] = j < nr ? panelB[boff[k] + j * p->b_n] : 0.0f;
            }
            panelB = panel;
            rows = prow;
          }
          strips(p, A + ko * p->a_ko + k0 * p->a_ki, m0, m1, kc, panelB, rows, C + n, nr, add);
        }
      }
    }
  }
}

// Both operands contiguous along k (a_ki = b_k = 1): the weight gradients' dy·xᵀ, summed over
// pixels, and a linear layer's x·Wᵀ. Either would have to be transposed into the 4×8 tile's layout
// (for the weight gradients, once per image), so here each value of C is a dot product instead:
// a block of DOT_M rows × DOT_N columns holds eight f32x4 sums, lane j over k ≡ j (mod 4), both
// operands read four k to a vector in place, and the lanes are added at the end.
#define DOT_M 2
#define DOT_N 4
#define DOT_SUMS (DOT_M * DOT_N)
// Columns of C per work item on this path: the item's sums (16 bytes a value) stay on the stack.
#define DOT_NB 64
// Reduction steps per pass over the item's blocks: its rows of A and of B over that many k (about
// 32 KiB) stay in L1 while every block reads them.
#define DOT_L1_FLOATS 8192

// Four k of a block: s[r·4 + j] += a_r · b_j lane by lane, a's lanes where mask is set.
static inline __attribute__((always_inline)) void dot_step(const float *a0, const float *a1, const float *const b[DOT_N], u32 k, f4 mask, f4 s[DOT_SUMS]) {
  f4 x0 = wasm_v128_and(wasm_v128_load(a0 + k), mask), x1 = wasm_v128_and(wasm_v128_load(a1 + k), mask);
#pragma clang loop unroll(full)
  for (u32 j = 0; j < DOT_N; j++) {
    f4 y = wasm_v128_load(b[j] + k);
    s[j] = madd(x0, y, s[j]);
    s[DOT_N + j] = madd(x1, y, s[DOT_N + j]);
  }
}

// One block's sums s over k < n (n ≥ 4): rows a0, a1 of A against rows b[] of B. A count not a
// multiple of 4 ends with the 4 k that end at n, the lanes already summed cleared in a.
static inline __attribute__((always_inline)) void dot_block(u32 n, const float *a0, const float *a1, const float *const b[DOT_N], f4 s[DOT_SUMS]) {
  f4 all = wasm_i32x4_splat(-1);
  u32 k = 0;
  for (; k + 4 <= n; k += 4) dot_step(a0, a1, b, k, all, s);
  if (k < n) dot_step(a0, a1, b, n - 4, wasm_i32x4_gt(wasm_i32x4_make(0, 1, 2, 3), wasm_i32x4_splat((i32)(k + 3 - n))), s);
}

// One block's sums over the reduction steps [k0, k0 + n) of outer steps [ko0, ko1).
static void dot_pass(const Params *p, const float *A, const float *B, u32 m, u32 m1, u32 j, u32 n1, u32 ko0, u32 ko1, u32 k0, u32 n,
                     f4 *sums) {
  f4 s[DOT_SUMS];
#pragma clang loop unroll(full)
  for (u32 i = 0; i < DOT_SUMS; i++) s[i] = sums[i];
  for (u32 ko = ko0; ko < ko1; ko++) {
    const float *a = A + ko * p->a_ko + k0, *b = B + ko * p->b_ko + k0;
    // Rows and columns past the end repeat the last one: valid loads whose sums are not stored.
    const float *rows[DOT_N];
    for (u32 t = 0; t < DOT_N; t++) rows[t] = b + min_u(j + t, n1 - 1) * p->b_n;
    dot_block(n, a + m * p->a_m, a + min_u(m + 1, m1 - 1) * p->a_m, rows, s);
  }
#pragma clang loop unroll(full)
  for (u32 i = 0; i < DOT_SUMS; i++) sums[i] = s[i];
}

// Adds each block's lanes, in a fixed order, and stores its values of C (rows [m, m1), columns
// [n, n1) of its DOT_M × DOT_N).
static void dot_store(const Params *p, f4 *sums, float *C, u32 m, u32 m1, u32 n, u32 n1) {
  for (u32 r = 0; r < DOT_M && m + r < m1; r++) {
    f4 *s = sums + r * DOT_N;
    f4 t0 = s[0], t1 = s[1], t2 = s[2], t3 = s[3];
    transpose4(&t0, &t1, &t2, &t3);
    f4 v = wasm_f32x4_add(wasm_f32x4_add(t0, t1), wasm_f32x4_add(t2, t3));
    float *out = C + (m + r) * p->c_m + n;
    if (p->accumulate) {
      float prev[4] = { 0, 0, 0, 0 };
      for (u32 j = 0; j < DOT_N && n + j < n1; j++) prev[j] = out[j];
      v = wasm_f32x4_add(wasm_v128_load(prev), v);
    }
    store_lanes(out, v, n1 - n);
  }
}

// Items are blocks of C, MB rows × block_cols (≤ DOT_NB) columns of one batch entry, as gemm_range's.
static void gemm_dot_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  u32 mblocks = ceil_div_u(p->M, MB), nblocks = ceil_div_u(p->N, block_cols);
  f4 sums[MB * DOT_NB];
  for (u32 item = lo; item < hi; item++) {
    u32 batch = item / (mblocks * nblocks), mb = item / nblocks % mblocks, nb = item % nblocks;
    u32 m0 = mb * MB, m1 = min_u(p->M, m0 + MB), n0 = nb * block_cols, n1 = min_u(p->N, n0 + block_cols);
    const float *A = c->io[0] + batch * p->a_b, *B = c->io[1] + batch * p->b_b;
    u32 blocks = ceil_div_u(m1 - m0, DOT_M) * ceil_div_u(n1 - n0, DOT_N);
    // Each pass reads span k of the item's rows of A and B: whole images where they fit.
    u32 span = max_u(4, DOT_L1_FLOATS / (m1 - m0 + n1 - n0) / 4 * 4);
    u32 kc = min_u(span, p->KI), images = max_u(1, span / p->KI);
    for (u32 i = 0; i < blocks * DOT_SUMS; i++) sums[i] = wasm_f32x4_splat(0);
    for (u32 ko = 0; ko < p->KO; ko += images) {
      u32 ko1 = min_u(p->KO, ko + images);
      for (u32 k0 = 0; k0 < p->KI; k0 += kc) {
        // A last step under 4 k is taken with the steps before it.
        u32 n = p->KI - k0 < kc + 4 ? p->KI - k0 : kc;
        f4 *s = sums;
        for (u32 m = m0; m < m1; m += DOT_M) {
          for (u32 j = n0; j < n1; j += DOT_N, s += DOT_SUMS) dot_pass(p, A, B, m, m1, j, n1, ko, ko1, k0, n, s);
        }
        if (n != kc) break;
      }
    }
    float *C = c->io[2] + batch * p->c_b;
    f4 *s = sums;
    for (u32 m = m0; m < m1; m += DOT_M) {
      for (u32 j = n0; j < n1; j += DOT_N, s += DOT_SUMS) dot_store(p, s, C, m, m1, j, n1);
    }
  }
}

KERNEL(matmul, gemm) {
  const Params *p = PARAMS(Params);
  u32 rows = c->threads[2] * ceil_div_u(p->M, MB);
  int dot = p->a_ki == 1 && p->b_k == 1 && p->KI >= 4 && p->KI * p->KO > 0;
  block_cols = dot ? DOT_NB : NB;
  u32 threads = thread_count();
  while (threads > 1 && block_cols > TILE_N && rows * ceil_div_u(p->N, block_cols) < 4 * threads) block_cols /= 2;
  u32 items = rows * ceil_div_u(p->N, block_cols);
  parallel_for(c, dot ? gemm_dot_range : gemm_range, items, 2.0 * min_u(p->M, MB) * min_u(p->N, block_cols) * p->KI * p->KO);
}
