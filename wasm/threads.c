// The call block and the parallel loop. This build runs every launch on the calling thread.
#include "kernels.h"

static Call call_block;

// Where runtime/wasm/backend.ts writes each launch's buffers and parameters.
__attribute__((export_name("call_block"))) Call *call_block_address(void) { return &call_block; }

void parallel_for(const Call *c, Range fn, u32 items, double cost) {
  (void)cost;
  if (items) fn(c, 0, items);
}
