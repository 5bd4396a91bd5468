// Shared by the convolution kernels (conv.c, conv1x1.c): shaders/conv.wgsl's Params, and the entry
// points conv.c hands 1×1 kernels to.
#pragma once
#include "tile.h"

typedef struct {
  u32 n, ci, co, chunk_rows;
  u32 h, w, oh, ow;
  u32 kh, kw, stride, dil;
  u32 pad, top, left, chunks;
  // Nonzero: the input is read through ReLU, conv(relu(x), w) (set on forward and weight-gradient launches only).
  u32 relu_input;
  // Nonzero: the input gradient is of conv(relu(x), w), so dx passes ReLU's gradient (set on
  // input-gradient launches only).
  u32 relu_grad;
} Params;

// The input-gradient kernels' buffers: x is read only where relu_grad is set.
enum { DY = 0, WEIGHT = 1, RELU_X = 2, DX = 3 };

// dx[i] = 0 where x[i] is not above zero (NaN included), the bits of elementwise/relu_backward, done
// while a plane's dx is still in cache rather than as another pass over the whole tensor.
static inline void relu_mask(float *dx, const float *x, u32 size) {
  f4 zero = wasm_f32x4_splat(0);
  u32 i = 0;
  for (; i + 4 <= size; i += 4) wasm_v128_store(dx + i, wasm_v128_and(wasm_v128_load(dx + i), wasm_f32x4_gt(wasm_v128_load(x + i), zero)));
  for (; i < size; i++) dx[i] = x[i] > 0.0f ? dx[i] : 0.0f;
}

static inline void zero(float *q, u32 size) {
  for (u32 i = 0; i < size; i++) q[i] = 0.0f;
}

// ReLU on four lanes as relu() does it: negatives to zero, NaN kept.
static inline f4 relu4(f4 v) { return wasm_v128_andnot(v, wasm_f32x4_lt(v, wasm_f32x4_splat(0))); }

// The (n, oh) rows [first, end) of a weight-gradient chunk.
static inline void chunk_rows(const Params *p, u32 chunk, u32 *first, u32 *end) {
  *first = chunk * p->chunk_rows;
  *end = min_u(p->n * p->oh, *first + p->chunk_rows);
}

// The depthwise shapes (kernel size, dilation, stride) of the search space, each with its own
// compiled copy of a kernel: X(K, D, S) for every one.
#define DW_SHAPES(X) X(3, 1, 1) X(3, 2, 1) X(5, 1, 1) X(5, 2, 1) X(3, 1, 2) X(3, 2, 2) X(5, 1, 2) X(5, 2, 2)

// Depthwise convolutions four channels at a time (depthwise4.c); 0 where a launch is not theirs.
int dw4_forward(const Call *c);
int dw4_backward_input(const Call *c);
int dw4_backward_weight(const Call *c);

// Dense 1×1 convolutions with a stride, padding or crop (conv1x1.c).
void dense1x1_forward(const Call *c);
void dense1x1_backward_input(const Call *c);
void dense1x1_backward_weight(const Call *c);
