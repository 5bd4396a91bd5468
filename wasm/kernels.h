// Shared by every kernel family: the call block the backend fills, the thread pool's parallel loop,
// and the little libm the kernels need (there is no libc: the module is freestanding).
#pragma once
#include <stdint.h>
#include <wasm_simd128.h>

typedef uint32_t u32;
typedef int32_t i32;
typedef v128_t f4;

// One kernel launch, written by runtime/wasm/backend.ts before it calls the entry point:
// io[b - 1] is WGSL binding b (the inputs, then the outputs), threads the launch's invocation
// counts along x, y, z (the GEMM's batch is its z), params the Params struct's words (its u32
// fields, then its f32 fields, exactly in the WGSL struct's order).
#define MAX_BUFFERS 12
#define MAX_PARAMS 32
typedef struct {
  float *io[MAX_BUFFERS];
  u32 threads[3];
  u32 params[MAX_PARAMS];
} Call;

// An entry point "family/entry"; the export name is the kernel name the ops launch.
#define KERNEL(family, entry) \
  __attribute__((export_name(#family "/" #entry))) void family##__##entry(const Call *c)

#define PARAMS(T) ((const T *)c->params)

// Work items [lo, hi) of one launch; items never share an output, and each is computed in a fixed
// order, so results do not depend on how the items are split between threads.
typedef void (*Range)(const Call *c, u32 lo, u32 hi);

// Runs fn over items [0, items), on several threads when items · cost (rough operations per item)
// is worth waking them.
void parallel_for(const Call *c, Range fn, u32 items, double cost);

// The threads parallel_for runs on, the caller's included (1 in the single-threaded build). A kernel
// may cut its work finer for more threads, never so that a result depends on it.
u32 thread_count(void);

static inline u32 min_u(u32 a, u32 b) { return a < b ? a : b; }
static inline u32 max_u(u32 a, u32 b) { return a > b ? a : b; }
static inline i32 min_i(i32 a, i32 b) { return a < b ? a : b; }
static inline i32 max_i(i32 a, i32 b) { return a > b ? a : b; }
static inline u32 ceil_div_u(u32 a, u32 b) { return (a + b - 1) / b; }

// Where part k starts when n items are cut into `parts` contiguous parts whose sizes differ by at
// most one (k = parts gives n).
static inline u32 part_start(u32 n, u32 parts, u32 k) { return (u32)((uint64_t)n * k / parts); }

// ReLU as the relu kernels compute it: NaN passes through, as in PyTorch.
static inline float relu(float v) { return v < 0.0f ? 0.0f : v; }

// a·b + c. The relaxed-SIMD build (-mrelaxed-simd) makes it one fused multiply-add where the engine
// has one: relaxed SIMD lets an engine fuse or not, and a given engine always does the same, so
// results stay deterministic on it. The plain build multiplies, then adds (c + a·b, the same bits).
static inline f4 madd(f4 a, f4 b, f4 c) {
#ifdef __wasm_relaxed_simd__
  return __builtin_wasm_relaxed_madd_f32x4(a, b, c);
#else
  return wasm_f32x4_add(c, wasm_f32x4_mul(a, b));
#endif
}

// Lanes of a where mask is all ones, of b where it is all zeros: a comparison's mask. The relaxed
// build makes it one blend, where v128.bitselect takes three instructions on x64; relaxed
// laneselect is defined only for such masks, where it gives bitselect's result.
static inline f4 select_lanes(f4 a, f4 b, f4 mask) {
#ifdef __wasm_relaxed_simd__
  return __builtin_wasm_relaxed_laneselect_i32x4(a, b, mask);
#else
  return wasm_v128_bitselect(a, b, mask);
#endif
}

// Four vectors, taken as the rows of a 4×4 block, replaced by its columns: a0 = (a0[0], a1[0], a2[0], a3[0]), ...
static inline __attribute__((always_inline)) void transpose4(f4 *a0, f4 *a1, f4 *a2, f4 *a3) {
  f4 t0 = wasm_i32x4_shuffle(*a0, *a1, 0, 4, 1, 5), t1 = wasm_i32x4_shuffle(*a2, *a3, 0, 4, 1, 5);
  f4 t2 = wasm_i32x4_shuffle(*a0, *a1, 2, 6, 3, 7), t3 = wasm_i32x4_shuffle(*a2, *a3, 2, 6, 3, 7);
  *a0 = wasm_i32x4_shuffle(t0, t1, 0, 1, 4, 5);
  *a1 = wasm_i32x4_shuffle(t0, t1, 2, 3, 6, 7);
  *a2 = wasm_i32x4_shuffle(t2, t3, 0, 1, 4, 5);
  *a3 = wasm_i32x4_shuffle(t2, t3, 2, 3, 6, 7);
}

// A vector's lanes summed in a fixed order, so a sum never depends on which thread made it.
static inline float hsum(f4 v) {
  return (wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1)) + (wasm_f32x4_extract_lane(v, 2) + wasm_f32x4_extract_lane(v, 3));
}

// Stores the first n lanes of v (all four when n ≥ 4).
static inline void store_lanes(float *out, f4 v, u32 n) {
  if (n >= 4) {
    wasm_v128_store(out, v);
  } else if (n == 3) {
    wasm_v128_store64_lane(out, v, 0);
    wasm_v128_store32_lane(out + 2, v, 2);
  } else if (n == 2) {
    wasm_v128_store64_lane(out, v, 0);
  } else if (n == 1) {
    wasm_v128_store32_lane(out, v, 0);
  }
}

#define INFINITY_F __builtin_inff()
#define NAN_F __builtin_nanf("")

// exp and log to float precision, computed in double: range reduction, then a short series.
static inline float exp_f(float xf) {
  if (xf != xf) return xf;
  if (xf > 88.72284f) return INFINITY_F;
  if (xf < -103.97209f) return 0.0f;
  double x = xf;
  double k = __builtin_nearbyint(x * 1.4426950408889634);
  double r = x - k * 0.6931471805599453;
  // |r| <= ln2/2: degree 10 leaves a relative error below 1e-12.
  double p = 1.0 + r * (1.0 + r * (1.0 / 2 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120 + r * (1.0 / 720 +
             r * (1.0 / 5040 + r * (1.0 / 40320 + r * (1.0 / 362880 + r * (1.0 / 3628800))))))))));
  union { uint64_t u; double d; } scale = { .u = (uint64_t)((int64_t)k + 1023) << 52 };
  return (float)(p * scale.d);
}

static inline float log_f(float xf) {
  if (xf != xf || xf < 0.0f) return NAN_F;
  if (xf == 0.0f) return -INFINITY_F;
  if (xf == INFINITY_F) return xf;
  union { uint64_t u; double d; } v = { .d = xf };
  int e = (int)(v.u >> 52) - 1023;
  v.u = (v.u & 0x000FFFFFFFFFFFFFull) | 0x3FF0000000000000ull;
  double m = v.d;
  if (m > 1.4142135623730951) {
    m *= 0.5;
    e++;
  }
  // log m = 2 atanh(s), |s| <= 0.172: terms to s^15 leave about 1e-13.
  double s = (m - 1.0) / (m + 1.0), s2 = s * s;
  double series = s * (2.0 + s2 * (2.0 / 3 + s2 * (2.0 / 5 + s2 * (2.0 / 7 + s2 * (2.0 / 9 + s2 * (2.0 / 11 + s2 * (2.0 / 13 + s2 * (2.0 / 15))))))));
  return (float)(e * 0.6931471805599453 + series);
}

static inline float sqrt_f(float x) { return __builtin_sqrtf(x); }
