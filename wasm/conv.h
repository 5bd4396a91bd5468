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
} Params;

// The (n, oh) rows [first, end) of a weight-gradient chunk.
static inline void chunk_rows(const Params *p, u32 chunk, u32 *first, u32 *end) {
  *first = chunk * p->chunk_rows;
  *end = min_u(p->n * p->oh, *first + p->chunk_rows);
}

// Dense 1×1 convolutions with a stride, padding or crop (conv1x1.c).
void dense1x1_forward(const Call *c);
void dense1x1_backward_input(const Call *c);
void dense1x1_backward_weight(const Call *c);
