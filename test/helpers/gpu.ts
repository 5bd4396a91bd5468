// One WebGPU backend per test file, plus float64 comparison helpers for GPU results.
import assert from 'node:assert/strict';
import { after } from 'node:test';
import { createWebGpuBackend, Tensor, type WebGpuBackend } from '../../runtime/index.ts';
import type { T64 } from '../ref/tensor64.ts';

let shared: Promise<WebGpuBackend> | null = null;

// Registered at import time so it belongs to the file, not to whichever test asks first.
after(async () => (await shared)?.destroy());

export function gpu(): Promise<WebGpuBackend> {
  shared ??= createWebGpuBackend();
  return shared;
}

export function toGpu(backend: WebGpuBackend, t: T64, name = ''): Tensor {
  return Tensor.from(backend, Float32Array.from(t.data), t.shape, name);
}

export function param(backend: WebGpuBackend, t: T64, name: string): Tensor {
  return Tensor.parameter(backend, Float32Array.from(t.data), t.shape, name);
}

/** Asserts |got - want| <= atol + rtol * |want| element-wise, naming the worst element. */
export function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string, atol = 1e-5, rtol = 1e-4): void {
  assert.equal(got.length, want.length, `${what}: ${got.length} values, expected ${want.length}`);
  let worst = -1;
  let worstRatio = 0;
  for (let i = 0; i < want.length; i++) {
    const ratio = Math.abs(got[i]! - want[i]!) / (atol + rtol * Math.abs(want[i]!));
    if (!(ratio <= worstRatio)) {
      worstRatio = ratio;
      worst = i;
    }
  }
  assert.ok(worstRatio <= 1, `${what}: element ${worst} is ${got[worst]}, expected ${want[worst]} (${worstRatio.toFixed(2)}x tolerance)`);
}
