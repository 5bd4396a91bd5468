// shaders/pool.wgsl: max and average windows over NCHW planes, and the global average.
// Work items are planes; backward kernels scatter each window's gradient into a zeroed plane in
// window order, so every value is summed in a fixed order.
#include "kernels.h"

typedef struct { u32 total, height, width, out_height, out_width, kernel, stride, pad; } Params;

// In-image taps of the window starting at (h, w): the divisor of count_include_pad=False.
static float taps(const Params *p, i32 h, i32 w) {
  i32 k = (i32)p->kernel;
  i32 rows = min_i(h + k, (i32)p->height) - max_i(h, 0);
  i32 cols = min_i(w + k, (i32)p->width) - max_i(w, 0);
  return (float)(rows * cols);
}

// Forward windows are taken an output row at a time: first each input column's aggregate over the
// window's rows, then each window's over its columns, four windows per f32x4. Comparisons select
// with bit masks: data-dependent branches on random values cost more than the arithmetic.

// The window's columns j < 4 of outputs ow..ow+3: column (ow + j)·stride + kw of a padded row.
static f4 window_column(const float *row, u32 ow, u32 kw, u32 stride) {
  const float *at = row + ow * stride + kw;
  if (stride == 1) return wasm_v128_load(at);
  return wasm_f32x4_make(at[0], at[stride], at[2 * stride], at[3 * stride]);
}

static inline f4 is_nan4(f4 v) { return wasm_f32x4_ne(v, v); }

// A window's best so far over its columns: (value, row, column). Column kw with (u, its row ur)
// wins with a larger value, or an equal one from an earlier row (the scan goes row, then column).
// NaN wins as in PyTorch, whose scan takes every NaN it meets: a column's NaN from its last NaN
// row, and the window's over a NaN best unless from an earlier row (later in the scan otherwise).
typedef struct { f4 value, row, column; } ColumnBest;

// Without nan_aware, for planes known to hold no NaN.
static inline __attribute__((always_inline)) ColumnBest take_column(ColumnBest best, f4 u, f4 ur, u32 kw, const int nan_aware) {
  f4 earlier = wasm_f32x4_lt(ur, best.row);
  f4 wins = wasm_v128_or(wasm_f32x4_gt(u, best.value), wasm_v128_and(wasm_f32x4_eq(u, best.value), earlier));
  if (nan_aware) wins = wasm_v128_or(wins, wasm_v128_andnot(is_nan4(u), wasm_v128_and(is_nan4(best.value), earlier)));
  return (ColumnBest){ select_lanes(u, best.value, wins), select_lanes(ur, best.row, wins),
                       select_lanes(wasm_f32x4_splat((float)kw), best.column, wins) };
}

// Padding acts as −∞; ties keep the first maximum in scan order (row, then column), and a NaN wins
// from the last NaN, as PyTorch; argmax = kh·k + kw. Per column: the largest value and its first
// row (a NaN and its last row), padding columns (−∞, k) so that any real column beats them, as in
// the WGSL.
static void max_pool_forward_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  i32 k = (i32)p->kernel, H = (i32)p->height, W = (i32)p->width;
  u32 span = p->pad + p->width + p->kernel + 4 * p->stride;
  float best[span], at[span];
  for (u32 i = 0; i < span; i++) {
    best[i] = -INFINITY_F;
    at[i] = (float)k;
  }
  f4 fk = wasm_f32x4_splat((float)k);
  for (u32 plane = lo; plane < hi; plane++) {
    const float *x = c->io[0] + plane * p->height * p->width;
    float *y = c->io[1] + plane * p->out_height * p->out_width;
    float *arg = c->io[2] + plane * p->out_height * p->out_width;
    for (u32 oh = 0; oh < p->out_height; oh++) {
      i32 h0 = (i32)(oh * p->stride) - (i32)p->pad, first = max_i(0, -h0), end = min_i(k, H - h0);
      float *b = best + p->pad, *a = at + p->pad;
      for (i32 w = 0; w < W; w++) {
        b[w] = x[(h0 + first) * W + w];
        a[w] = (float)first;
      }
      for (i32 kh = first + 1; kh < end; kh++) {
        const float *row = x + (h0 + kh) * W;
        f4 r = wasm_f32x4_splat((float)kh);
        i32 w = 0;
        for (; w + 4 <= W; w += 4) {
          f4 v = wasm_v128_load(row + w), m = wasm_v128_load(b + w);
          f4 take = wasm_v128_or(wasm_f32x4_gt(v, m), is_nan4(v));
          wasm_v128_store(b + w, select_lanes(v, m, take));
          wasm_v128_store(a + w, select_lanes(r, wasm_v128_load(a + w), take));
        }
        for (; w < W; w++) {
          if (row[w] > b[w] || row[w] != row[w]) {
            b[w] = row[w];
            a[w] = (float)kh;
          }
        }
      }
      for (u32 ow = 0; ow < p->out_width; ow += 4) {
        ColumnBest win = { window_column(best, ow, 0, p->stride), window_column(at, ow, 0, p->stride), wasm_f32x4_splat(0) };
        for (u32 kw = 1; kw < p->kernel; kw++) win = take_column(win, window_column(best, ow, kw, p->stride), window_column(at, ow, kw, p->stride), kw, 1);
        u32 out = oh * p->out_width + ow;
        store_lanes(y + out, win.value, p->out_width - ow);
        store_lanes(arg + out, wasm_f32x4_add(wasm_f32x4_mul(win.row, fk), win.column), p->out_width - ow);
      }
    }
  }
}

// The search space's stride-1 3×3 windows (padding 1) over a plane of FLAT_MAX values or fewer:
// the plane is taken as one flat run, so short rows (7 or 14 wide in reduced cells) leave no
// per-row tails. A position's neighbours across the plane's edges are masked off: above and below
// by the first real row's taking (as in the row walk), left and right by (−∞, k) columns, so the
// values and argmaxes are the row walk's.
#define FLAT_MAX 1024

static int flat_fits(const Params *p) {
  return p->kernel == 3 && p->stride == 1 && p->pad == 1 && p->height * p->width <= FLAT_MAX;
}

// Per position of a flat plane, whether the row above, the row below, the column left and right are in it.
typedef struct { f4 up, down, left, right; } Edges;

static void plane_edges(const Params *p, Edges *edges, u32 vectors) {
  for (u32 v = 0; v < vectors; v++) {
    i32 lanes[4][4];
    for (u32 j = 0; j < 4; j++) {
      u32 i = 4 * v + j, row = i / p->width, col = i % p->width;
      lanes[0][j] = row > 0 ? -1 : 0;
      lanes[1][j] = row + 1 < p->height ? -1 : 0;
      lanes[2][j] = col > 0 ? -1 : 0;
      lanes[3][j] = col + 1 < p->width ? -1 : 0;
    }
    edges[v] = (Edges){ wasm_v128_load(lanes[0]), wasm_v128_load(lanes[1]), wasm_v128_load(lanes[2]), wasm_v128_load(lanes[3]) };
  }
}

// One plane (copied into `plane`, between its margins) into y and arg; nan_aware where it may hold NaN.
static inline __attribute__((always_inline)) void max_pool_flat_plane(const Edges *edges, u32 W, u32 n, u32 vectors, const float *plane,
                                                                      float *best, float *at, float *y, float *arg, const int nan_aware) {
  const f4 none = wasm_f32x4_splat(-INFINITY_F), fk = wasm_f32x4_splat(3.0f);
  // Each column's largest value over the window's rows and its first row: the row above where it
  // is real, then strictly larger ones below, or NaN.
  for (u32 v = 0; v < vectors; v++) {
    const float *mid = plane + W + 4 * v;
    const Edges *e = edges + v;
    f4 b = select_lanes(wasm_v128_load(mid - W), none, e->up);
    f4 r = select_lanes(wasm_f32x4_splat(0.0f), fk, e->up);
    f4 u = wasm_v128_load(mid);
    f4 larger = wasm_f32x4_gt(u, b);
    if (nan_aware) larger = wasm_v128_or(larger, is_nan4(u));
    f4 take = wasm_v128_or(larger, wasm_v128_not(e->up));
    b = select_lanes(u, b, take);
    r = select_lanes(wasm_f32x4_splat(1.0f), r, take);
    u = wasm_v128_load(mid + W);
    larger = wasm_f32x4_gt(u, b);
    if (nan_aware) larger = wasm_v128_or(larger, is_nan4(u));
    take = wasm_v128_and(larger, e->down);
    wasm_v128_store(best + 4 * v, select_lanes(u, b, take));
    wasm_v128_store(at + 4 * v, select_lanes(wasm_f32x4_splat(2.0f), r, take));
  }
  // Then each window's over its columns, as the row walk does it.
  for (u32 v = 0; v < vectors; v++) {
    u32 i = 4 * v;
    ColumnBest win = { select_lanes(wasm_v128_load(best + i - 1), none, edges[v].left),
                       select_lanes(wasm_v128_load(at + i - 1), fk, edges[v].left), wasm_f32x4_splat(0.0f) };
    win = take_column(win, wasm_v128_load(best + i), wasm_v128_load(at + i), 1, nan_aware);
    win = take_column(win, select_lanes(wasm_v128_load(best + i + 1), none, edges[v].right),
                      select_lanes(wasm_v128_load(at + i + 1), fk, edges[v].right), 2, nan_aware);
    store_lanes(y + i, win.value, n - i);
    store_lanes(arg + i, wasm_f32x4_add(wasm_f32x4_mul(win.row, fk), win.column), n - i);
  }
}

static void max_pool_flat_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  u32 W = p->width, n = p->height * W, vectors = ceil_div_u(n, 4);
  Edges edges[vectors];
  plane_edges(p, edges, vectors);
  // The plane with a row of margin before and after (vectors past its end read the margin), and the
  // columns' best with a vector of margin each side.
  float plane[W + 4 * vectors + W + 4] __attribute__((aligned(16)));
  float best_at[2][4 + 4 * vectors + 4] __attribute__((aligned(16)));
  for (u32 i = 0; i < W + 4 * vectors + W + 4; i++) plane[i] = 0.0f;
  for (u32 i = 0; i < 4 + 4 * vectors + 4; i++) best_at[0][i] = best_at[1][i] = 0.0f;
  float *best = best_at[0] + 4, *at = best_at[1] + 4;
  for (u32 plane_index = lo; plane_index < hi; plane_index++) {
    const float *x = c->io[0] + plane_index * n;
    float *y = c->io[1] + plane_index * n, *arg = c->io[2] + plane_index * n;
    // The copy notes whether the plane holds a NaN: the NaN rules cost a fifth of the kernel.
    f4 nan = wasm_f32x4_splat(0.0f);
    u32 i = 0;
    for (; i + 4 <= n; i += 4) {
      f4 v = wasm_v128_load(x + i);
      wasm_v128_store(plane + W + i, v);
      nan = wasm_v128_or(nan, is_nan4(v));
    }
    int has_nan = wasm_v128_any_true(nan);
    for (; i < n; i++) {
      plane[W + i] = x[i];
      has_nan |= x[i] != x[i];
    }
    if (has_nan) max_pool_flat_plane(edges, W, n, vectors, plane, best, at, y, arg, 1);
    else max_pool_flat_plane(edges, W, n, vectors, plane, best, at, y, arg, 0);
  }
}

// (dy, argmax) → dx: each window's gradient goes to its maximum. A tap's offset from its window's
// corner is listed once per range, so no window divides its argmax by k.
static void max_pool_backward_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  i32 k = (i32)p->kernel, W = (i32)p->width;
  i32 tap_offset[k * k];
  for (i32 t = 0; t < k * k; t++) tap_offset[t] = t / k * W + t % k;
  for (u32 plane = lo; plane < hi; plane++) {
    const float *dy = c->io[0] + plane * p->out_height * p->out_width;
    const float *arg = c->io[1] + plane * p->out_height * p->out_width;
    float *dx = c->io[2] + plane * p->height * p->width;
    for (u32 i = 0; i < p->height * p->width; i++) dx[i] = 0.0f;
    for (u32 oh = 0; oh < p->out_height; oh++) {
      i32 h0 = (i32)(oh * p->stride) - (i32)p->pad;
      for (u32 ow = 0; ow < p->out_width; ow++) {
        i32 w0 = (i32)(ow * p->stride) - (i32)p->pad;
        dx[h0 * W + w0 + tap_offset[(i32)arg[oh * p->out_width + ow]]] += dy[oh * p->out_width + ow];
      }
    }
  }
}

// Every plane's windows have the same in-image tap counts: listed once per range, so the divisions
// run four at a time instead of one call per window.
static void window_taps(const Params *p, float *divisor) {
  for (u32 oh = 0; oh < p->out_height; oh++) {
    for (u32 ow = 0; ow < p->out_width; ow++) {
      divisor[oh * p->out_width + ow] = taps(p, (i32)(oh * p->stride) - (i32)p->pad, (i32)(ow * p->stride) - (i32)p->pad);
    }
  }
}

// out[i] = num[i] / divisor[i] for i < n.
static void divide(float *out, const float *num, const float *divisor, u32 n) {
  u32 i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(out + i, wasm_f32x4_div(wasm_v128_load(num + i), wasm_v128_load(divisor + i)));
  for (; i < n; i++) out[i] = num[i] / divisor[i];
}

// Σ_{j<k} from[i + j] for i < n, in j order (stride-1 windows over a zero-padded row).
static void window_sums(float *out, const float *from, u32 k, u32 n) {
  u32 i = 0;
  for (; i + 4 <= n; i += 4) {
    f4 acc = wasm_v128_load(from + i);
    for (u32 j = 1; j < k; j++) acc = wasm_f32x4_add(acc, wasm_v128_load(from + i + j));
    wasm_v128_store(out + i, acc);
  }
  for (; i < n; i++) {
    float acc = from[i];
    for (u32 j = 1; j < k; j++) acc += from[i + j];
    out[i] = acc;
  }
}

// Sum of rows first..last of a (rows × n) block, in row order, into out.
static void row_sums(float *out, const float *rows, u32 n, u32 first, i32 last) {
  u32 i = 0;
  for (; i + 4 <= n; i += 4) {
    f4 acc = wasm_f32x4_splat(0);
    for (i32 r = (i32)first; r <= last; r++) acc = wasm_f32x4_add(acc, wasm_v128_load(rows + (u32)r * n + i));
    wasm_v128_store(out + i, acc);
  }
  for (; i < n; i++) {
    float acc = 0.0f;
    for (i32 r = (i32)first; r <= last; r++) acc += rows[(u32)r * n + i];
    out[i] = acc;
  }
}

// Sums of 3-wide windows 2 apart, four at a time, each added in column order as the general loop
// in avg_pool_forward_range does: its columns 2i, 2i + 1 and 2i + 2 are the even and odd lanes of
// two vectors, and the evens shifted by one. Against that loop, scalar, measured in one process at
// 1 thread: avg_pool_3x3 16×32×32 stride-2 forward 1.43× faster, 32×16×16 1.23×.
static void stride2_windows(float *acc, const float *sums, u32 windows) {
  for (u32 ow = 0; ow < windows; ow += 4) {
    const float *from = sums + 2 * ow;
    f4 a = wasm_v128_load(from), b = wasm_v128_load(from + 4), next = wasm_v128_load(from + 8);
    f4 first = wasm_i32x4_shuffle(a, b, 0, 2, 4, 6), second = wasm_i32x4_shuffle(a, b, 1, 3, 5, 7);
    f4 third = wasm_i32x4_shuffle(first, next, 1, 2, 3, 4);
    wasm_v128_store(acc + ow, wasm_f32x4_add(wasm_f32x4_add(first, second), third));
  }
}

// Mean over the in-image taps (count_include_pad=False): per output row, each input column's sum
// over the window's rows, then each window's over its columns (zeros stand for the padding, which
// adds nothing), then the division by the taps.
static void avg_pool_forward_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  u32 k = p->kernel, W = p->width, OH = p->out_height, OW = p->out_width;
  float divisor[OH * OW] __attribute__((aligned(16))), acc[OW + 3] __attribute__((aligned(16)));
  // Columns with pad zeros before and k + 8 after, so every window of a row reads inside it, four
  // windows at a time.
  u32 padded = p->pad + W + k + 8;
  float sums[padded] __attribute__((aligned(16)));
  for (u32 i = 0; i < padded; i++) sums[i] = 0.0f;
  float *sum = sums + p->pad;
  window_taps(p, divisor);
  for (u32 plane = lo; plane < hi; plane++) {
    const float *x = c->io[0] + plane * p->height * W;
    float *y = c->io[1] + plane * OH * OW;
    for (u32 oh = 0; oh < OH; oh++) {
      i32 h0 = (i32)(oh * p->stride) - (i32)p->pad;
      row_sums(sum, x, W, (u32)max_i(h0, 0), min_i(h0 + (i32)k, (i32)p->height) - 1);
      if (p->stride == 1) {
        window_sums(acc, sums, k, OW);
      } else if (k == 3 && p->stride == 2) {
        stride2_windows(acc, sums, OW);
      } else {
        for (u32 ow = 0; ow < OW; ow++) {
          const float *from = sums + ow * p->stride;
          float a = from[0];
          for (u32 j = 1; j < k; j++) a += from[j];
          acc[ow] = a;
        }
      }
      divide(y + oh * OW, acc, divisor + oh * OW, OW);
    }
  }
}

// Σ over each stride-1 3×3 window (padding 1) of a flat plane held with a row of margin each side
// (src: its first value, 4·vectors + W readable after it), in the row walk's order: the rows from
// 0 in order, then the columns; positions off the plane add zeros, which changes no bits (no sum
// here is −0). rows: scratch with a vector of margin each side.
static void flat_box_sums(const float *src, const Edges *edges, u32 vectors, u32 W, float *rows, float *out) {
  const f4 zero = wasm_f32x4_splat(0.0f);
  for (u32 v = 0; v < vectors; v++) {
    const float *mid = src + 4 * v;
    f4 sum = wasm_f32x4_add(zero, wasm_v128_and(wasm_v128_load(mid - W), edges[v].up));
    sum = wasm_f32x4_add(sum, wasm_v128_load(mid));
    wasm_v128_store(rows + 4 * v, wasm_f32x4_add(sum, wasm_v128_and(wasm_v128_load(mid + W), edges[v].down)));
  }
  for (u32 v = 0; v < vectors; v++) {
    const float *at = rows + 4 * v;
    f4 sum = wasm_f32x4_add(wasm_v128_and(wasm_v128_load(at - 1), edges[v].left), wasm_v128_load(at));
    wasm_v128_store(out + 4 * v, wasm_f32x4_add(sum, wasm_v128_and(wasm_v128_load(at + 1), edges[v].right)));
  }
}

// The average pool's flat paths (forward: box sums of x over the taps; backward: box sums of dy
// over the taps, the windows covering an input being the same 3×3 box); items are planes.
static void avg_pool_flat(const Call *c, u32 lo, u32 hi, int backward) {
  const Params *p = PARAMS(Params);
  u32 W = p->width, n = p->height * W, vectors = ceil_div_u(n, 4);
  Edges edges[vectors];
  plane_edges(p, edges, vectors);
  float divisor[4 * vectors] __attribute__((aligned(16)));
  window_taps(p, divisor);
  for (u32 i = n; i < 4 * vectors; i++) divisor[i] = 1.0f;
  float plane[W + 4 * vectors + W + 4] __attribute__((aligned(16)));
  float rows_buf[4 + 4 * vectors + 4] __attribute__((aligned(16))), sums[4 * vectors] __attribute__((aligned(16)));
  for (u32 i = 0; i < W + 4 * vectors + W + 4; i++) plane[i] = 0.0f;
  for (u32 i = 0; i < 4 + 4 * vectors + 4; i++) rows_buf[i] = 0.0f;
  for (u32 index = lo; index < hi; index++) {
    const float *x = c->io[0] + index * n;
    float *y = c->io[1] + index * n;
    if (backward) divide(plane + W, x, divisor, n);
    else for (u32 i = 0; i < n; i++) plane[W + i] = x[i];
    flat_box_sums(plane + W, edges, vectors, W, rows_buf + 4, sums);
    if (backward) for (u32 i = 0; i < n; i++) y[i] = sums[i];
    else divide(y, sums, divisor, n);
  }
}

static void avg_pool_flat_forward_range(const Call *c, u32 lo, u32 hi) { avg_pool_flat(c, lo, hi, 0); }
static void avg_pool_flat_backward_range(const Call *c, u32 lo, u32 hi) { avg_pool_flat(c, lo, hi, 1); }

// First covering window of input position i along one side: windows o read i when
// o·stride − pad ≤ i < o·stride − pad + k.
static u32 first_window(i32 i, const Params *p) {
  i32 from = i + (i32)p->pad - (i32)p->kernel + 1;
  return from <= 0 ? 0 : (u32)((from + (i32)p->stride - 1) / (i32)p->stride);
}

// A reduction cell's 3×3 stride-2 windows (padding 1), column by column, as the general loop below
// sums them: input 2m is covered by window m alone, 2m + 1 by m and m + 1, so eight inputs take
// four windows' sums and the four after, added to 0 in window order and interleaved. A window past
// the row's end adds a zero of the padding, which leaves the sum's bits as they are. With the
// general loop (scalar, one or two windows an input) the kernel took 3 ms a call on 16×32×32 n64 in
// the CIFAR b64 step; forward+backward measured 1.88× faster so (1 thread, with stride2_windows).
static void stride2_columns(float *row, const float *sums, u32 width) {
  f4 zero = wasm_f32x4_splat(0);
  for (u32 w = 0; w < width; w += 8) {
    f4 even = wasm_f32x4_add(zero, wasm_v128_load(sums + w / 2));
    f4 odd = wasm_f32x4_add(even, wasm_v128_load(sums + w / 2 + 1));
    store_lanes(row + w, wasm_i32x4_shuffle(even, odd, 0, 4, 1, 5), width - w);
    if (width - w > 4) store_lanes(row + w + 4, wasm_i32x4_shuffle(even, odd, 2, 6, 3, 7), width - w - 4);
  }
}

// dy → dx, a gather: dx[h, w] sums q = dy / taps over the windows covering it, first over their rows
// (a vector along the output columns), then over their columns. Each input reads its windows in a
// fixed order, and no plane's scratch is shared, so threads do not change the bits.
static void avg_pool_backward_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  u32 OH = p->out_height, OW = p->out_width, k = p->kernel;
  float divisor[OH * OW] __attribute__((aligned(16))), q[OH * OW] __attribute__((aligned(16)));
  // Column sums with k − 1 zeros before and k + 3 after: a window past either edge adds zeros.
  float cols[OW + 2 * k + 2] __attribute__((aligned(16)));
  for (u32 i = 0; i < OW + 2 * k + 2; i++) cols[i] = 0.0f;
  float *sums = cols + k - 1;
  window_taps(p, divisor);
  // The windows covering each input column, listed once: a strided row has no shifted-sum shortcut.
  u32 first_col[p->width], last_col[p->width];
  for (u32 w = 0; w < p->width; w++) {
    first_col[w] = first_window((i32)w, p);
    last_col[w] = min_u(OW - 1, (w + p->pad) / p->stride);
  }
  for (u32 plane = lo; plane < hi; plane++) {
    float *dx = c->io[1] + plane * p->height * p->width;
    divide(q, c->io[0] + plane * OH * OW, divisor, OH * OW);
    for (u32 h = 0; h < p->height; h++) {
      row_sums(sums, q, OW, first_window((i32)h, p), (i32)min_u(OH - 1, (h + p->pad) / p->stride));
      float *row = dx + h * p->width;
      if (p->stride == 1) {
        // Input w is covered by windows w + pad − k + 1 … w + pad: k neighbours of the padded sums.
        window_sums(row, sums + p->pad - (k - 1), k, p->width);
      } else if (k == 3 && p->stride == 2 && p->pad == 1) {
        stride2_columns(row, sums, p->width);
      } else {
        for (u32 w = 0; w < p->width; w++) {
          float acc = 0.0f;
          for (u32 o = first_col[w]; o <= last_col[w]; o++) acc += sums[o];
          row[w] = acc;
        }
      }
    }
  }
}

static u32 window_cost(const Params *p) { return p->out_height * p->out_width * p->kernel * p->kernel; }

// The 3×3 entry points count output rows (forward) or input rows (backward); the k×k ones count values.
KERNEL(pool, max_pool3_forward) {
  const Params *p = PARAMS(Params);
  parallel_for(c, flat_fits(p) ? max_pool_flat_range : max_pool_forward_range, p->total / p->out_height, window_cost(p));
}
KERNEL(pool, max_pool3_backward) { parallel_for(c, max_pool_backward_range, PARAMS(Params)->total / PARAMS(Params)->height, window_cost(PARAMS(Params))); }
KERNEL(pool, avg_pool3_forward) {
  const Params *p = PARAMS(Params);
  parallel_for(c, flat_fits(p) ? avg_pool_flat_forward_range : avg_pool_forward_range, p->total / p->out_height, window_cost(p));
}
KERNEL(pool, avg_pool3_backward) {
  const Params *p = PARAMS(Params);
  parallel_for(c, flat_fits(p) ? avg_pool_flat_backward_range : avg_pool_backward_range, p->total / p->height, window_cost(p));
}
KERNEL(pool, avg_pool_forward) {
  const Params *p = PARAMS(Params);
  parallel_for(c, avg_pool_forward_range, p->total / (p->out_height * p->out_width), window_cost(p));
}
KERNEL(pool, avg_pool_backward) {
  const Params *p = PARAMS(Params);
  parallel_for(c, avg_pool_backward_range, p->total / (p->height * p->width), window_cost(p));
}

// (x) → (y [N, C]), items are planes.
static void global_avg_pool_forward_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  u32 size = p->height * p->width;
  for (u32 i = lo; i < hi; i++) {
    const float *x = c->io[0] + i * size;
    float acc = 0.0f;
    for (u32 s = 0; s < size; s++) acc += x[s];
    c->io[1][i] = acc / (float)size;
  }
}

static void global_avg_pool_backward_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  u32 size = p->height * p->width;
  for (u32 i = lo; i < hi; i++) c->io[1][i] = c->io[0][i / size] / (float)size;
}

KERNEL(pool, global_avg_pool_forward) { parallel_for(c, global_avg_pool_forward_range, PARAMS(Params)->total, PARAMS(Params)->height * PARAMS(Params)->width); }
KERNEL(pool, global_avg_pool_backward) { parallel_for(c, global_avg_pool_backward_range, PARAMS(Params)->total, 2); }
