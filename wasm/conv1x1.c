// Dense 1×1 convolutions with a stride, padding or crop, as in FactorizedReduce (plain stride-1
// ones are GEMMs on the TypeScript side). conv.c's padded planes would hold mostly padding and
// stride phases no output reads, and tile output rows a few pixels wide; here every output pixel
// reads one input position, found once per range of work items, and the kernels are GEMMs over
// (channel, pixel) with the plane's pixels flattened, gathered into packed panels.
#include "conv.h"

// Where each output pixel (oh, ow) of a plane reads its input, or −1 where it reads padding or
// the cropped-away border.
static void pixel_sources(const Params *p, i32 *src) {
  for (u32 oh = 0; oh < p->oh; oh++) {
    i32 ih = (i32)(oh * p->stride + p->top) - (i32)p->pad;
    for (u32 ow = 0; ow < p->ow; ow++) {
      i32 iw = (i32)(ow * p->stride + p->left) - (i32)p->pad;
      int real = ih >= (i32)p->top && ih < (i32)p->h && iw >= (i32)p->left && iw < (i32)p->w;
      src[oh * p->ow + ow] = real ? ih * (i32)p->w + iw : -1;
    }
  }
}

static u32 pixels(const Params *p) { return p->oh * p->ow; }
static u32 plane(const Params *p) { return p->h * p->w; }

// Four inputs from x at the given offsets, through ReLU where the convolution takes relu(x), and
// zero in the lanes `keep` clears. Branch-free: ReLU on a lone float becomes a branch in the JIT's
// code, which random signs mispredict.
static f4 gather4(const Params *p, const float *x, const i32 *at, v128_t keep) {
  f4 v = wasm_f32x4_make(x[at[0]], x[at[1]], x[at[2]], x[at[3]]);
  if (p->relu_input) v = wasm_v128_andnot(v, wasm_f32x4_lt(v, wasm_f32x4_splat(0)));
  return wasm_v128_and(v, keep);
}

// panel[k·8 + j] = pixel j's input in plane k (kc planes `stride` apart, nr ≤ 8 pixels), zero
// past nr and where the pixel reads padding.
static void gather_pixels(const Params *p, const float *x, u32 stride, const i32 *src, u32 nr, u32 kc, float *panel) {
  i32 at[TILE_N], keep[TILE_N] __attribute__((aligned(16)));
  for (u32 j = 0; j < TILE_N; j++) {
    int real = j < nr && src[j] >= 0;
    at[j] = real ? src[j] : 0;
    keep[j] = real ? -1 : 0;
  }
  v128_t keep0 = wasm_v128_load(keep), keep1 = wasm_v128_load(keep + 4);
  for (u32 k = 0; k < kc; k++) {
    wasm_v128_store(panel + k * TILE_N, gather4(p, x + k * stride, at, keep0));
    wasm_v128_store(panel + k * TILE_N + 4, gather4(p, x + k * stride, at + 4, keep1));
  }
}

// panel[k·8 + j] = input channel j's value at pixel k (nr ≤ 8 channels, kc pixels).
static void gather_channels(const Params *p, const float *x, u32 stride, const i32 *src, u32 nr, u32 kc, float *panel) {
  i32 at[TILE_N], keep[TILE_N] __attribute__((aligned(16)));
  for (u32 j = 0; j < TILE_N; j++) {
    at[j] = j < nr ? (i32)(j * stride) : 0;
    keep[j] = j < nr ? -1 : 0;
  }
  v128_t keep0 = wasm_v128_load(keep), keep1 = wasm_v128_load(keep + 4), none = wasm_i32x4_splat(0);
  for (u32 k = 0; k < kc; k++) {
    int real = src[k] >= 0;
    const float *xk = x + (real ? src[k] : 0);
    wasm_v128_store(panel + k * TILE_N, gather4(p, xk, at, real ? keep0 : none));
    wasm_v128_store(panel + k * TILE_N + 4, gather4(p, xk, at + 4, real ? keep1 : none));
  }
}

// (x, w) → y; items are images. For each 8 pixels, k = input channels gathered into a panel that
// every 4 output channels of w (read in place) meet.
static void forward_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  u32 P = pixels(p);
  i32 src[P], prow[KC];
  float panel[KC * TILE_N] __attribute__((aligned(16)));
  pixel_sources(p, src);
  packed_rows(KC, prow);
  for (u32 n = lo; n < hi; n++) {
    const float *x = c->io[0] + n * p->ci * plane(p), *w = c->io[1];
    float *y = c->io[2] + n * p->co * P;
    for (u32 p0 = 0; p0 < P; p0 += TILE_N) {
      u32 nr = min_u(TILE_N, P - p0);
      for (u32 k0 = 0; k0 < p->ci; k0 += KC) {
        u32 kc = min_u(KC, p->ci - k0);
        gather_pixels(p, x + k0 * plane(p), plane(p), src + p0, nr, kc, panel);
        for (u32 o = 0; o < p->co; o += TILE_M) {
          tile(kc, w + o * p->ci + k0, p->ci, 1, panel, prow, y + o * P + p0, P, min_u(TILE_M, p->co - o), nr, k0 > 0);
        }
      }
    }
  }
}

// Stores an [input channel, 8] block's values at its pixels' input positions (nr ≤ 8 pixels).
// Channel by channel, so that a channel's few stores share a cache line: planes are often a
// power of two apart, and walking the channels pixel by pixel sent every store to one cache set.
static void scatter_block(const Params *p, const float *block, const i32 *src, u32 nr, float *dx) {
  for (u32 i = 0; i < p->ci; i++, dx += plane(p)) {
    const float *b = block + i * TILE_N;
    for (u32 j = 0; j < nr; j++) {
      if (src[j] >= 0) dx[src[j]] = b[j];
    }
  }
}

// (dy, w) → dx; items are images. For each 8 pixels, wᵀ·dy (k = output channels, dy rows read in
// place) into an [input channel, 8] block, then scattered to the pixels' input positions; the
// positions no pixel reads stay zero.
static void backward_input_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  u32 P = pixels(p);
  i32 src[P], boff[KC], prow[KC];
  float panel[KC * TILE_N] __attribute__((aligned(16)));
  float block[p->ci * TILE_N] __attribute__((aligned(16)));
  pixel_sources(p, src);
  packed_rows(KC, prow);
  for (u32 n = lo; n < hi; n++) {
    const float *dy = c->io[DY] + n * p->co * P, *w = c->io[WEIGHT];
    float *dx = c->io[DX] + n * p->ci * plane(p);
    for (u32 i = 0; i < p->ci * plane(p); i++) dx[i] = 0.0f;
    for (u32 p0 = 0; p0 < P; p0 += TILE_N) {
      u32 nr = min_u(TILE_N, P - p0);
      for (u32 o0 = 0; o0 < p->co; o0 += KC) {
        u32 kc = min_u(KC, p->co - o0);
        for (u32 k = 0; k < kc; k++) boff[k] = (i32)((o0 + k) * P);
        const float *B = dy + p0;
        const i32 *rows = boff;
        // A short last block would read past the end of dy.
        if (nr < TILE_N) {
          pack_panel(kc, B, boff, nr, panel);
          B = panel;
          rows = prow;
        }
        for (u32 i = 0; i < p->ci; i += TILE_M) {
          tile(kc, w + o0 * p->ci + i, 1, p->ci, B, rows, block + i * TILE_N, TILE_N, min_u(TILE_M, p->ci - i), nr, o0 > 0);
        }
      }
      scatter_block(p, block, src + p0, nr, dx);
    }
    // Its own pass: x read in order streams; x read at the scattered positions waited on memory.
    if (p->relu_grad) relu_mask(dx, c->io[RELU_X] + n * p->ci * plane(p), p->ci * plane(p));
  }
}

// (x, dy) → partial[chunk, o·I + i]; items are (chunk, 8 input channels), so that a chunk's work
// splits between threads and each panel is gathered once. Per image of the chunk, k = its pixels
// in the chunk: A = dy rows (output channels) read in place, B = the 8 channels' inputs at those
// pixels; summed image after image straight into the partial.
static void backward_weight_range(const Call *c, u32 lo, u32 hi) {
  const Params *p = PARAMS(Params);
  u32 P = pixels(p), blocks = ceil_div_u(p->ci, TILE_N);
  i32 src[P], prow[KC];
  float panel[KC * TILE_N] __attribute__((aligned(16)));
  pixel_sources(p, src);
  packed_rows(KC, prow);
  for (u32 item = lo; item < hi; item++) {
    u32 chunk = item / blocks, i0 = item % blocks * TILE_N, nr = min_u(TILE_N, p->ci - i0), first, end;
    chunk_rows(p, chunk, &first, &end);
    float *out = c->io[2] + chunk * p->co * p->ci + i0;
    int add = 0;
    for (u32 row = first; row < end;) {
      u32 n = row / p->oh, stop = min_u(end, (n + 1) * p->oh);
      const float *x = c->io[0] + (n * p->ci + i0) * plane(p), *dy = c->io[1] + n * p->co * P;
      for (u32 k0 = (row - n * p->oh) * p->ow, k1 = (stop - n * p->oh) * p->ow; k0 < k1; k0 += KC, add = 1) {
        u32 kc = min_u(KC, k1 - k0);
        gather_channels(p, x, plane(p), src + k0, nr, kc, panel);
        for (u32 o = 0; o < p->co; o += TILE_M) {
          tile(kc, dy + o * P + k0, P, 1, panel, prow, out + o * p->ci, p->ci, min_u(TILE_M, p->co - o), nr, add);
        }
      }
      row = stop;
    }
  }
}

void dense1x1_forward(const Call *c) {
  const Params *p = PARAMS(Params);
  parallel_for(c, forward_range, p->n, 2.0 * pixels(p) * p->co * p->ci);
}

void dense1x1_backward_input(const Call *c) {
  const Params *p = PARAMS(Params);
  parallel_for(c, backward_input_range, p->n, 2.0 * pixels(p) * p->co * p->ci);
}

void dense1x1_backward_weight(const Call *c) {
  const Params *p = PARAMS(Params);
  parallel_for(c, backward_weight_range, p->chunks * ceil_div_u(p->ci, TILE_N), 2.0 * p->chunk_rows * p->ow * p->co * TILE_N);
}
