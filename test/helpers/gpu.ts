// One backend per test file (WebGPU, or the one SGAS_TEST_BACKEND names: webgpu or wasm), plus
// float64 comparison helpers for its results.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after } from 'node:test';
import { createBackend, Tensor, type Backend, type WebGpuBackend } from '../../runtime/index.ts';
import type { T64 } from '../ref/tensor64.ts';

type TestBackend = Backend & { destroy(): void };

let shared: Promise<TestBackend> | null = null;

// Registered at import time so it belongs to the file, not to whichever test asks first.
after(async () => (await shared)?.destroy());

export function gpu(): Promise<TestBackend> {
  const backend = process.env.SGAS_TEST_BACKEND === 'wasm' ? 'wasm' : 'webgpu';
  shared ??= createBackend({ backend }) as Promise<TestBackend>;
  return shared;
}

export function toGpu(backend: Backend, t: T64, name = ''): Tensor {
  return Tensor.from(backend, Float32Array.from(t.data), t.shape, name);
}

export function param(backend: Backend, t: T64, name: string): Tensor {
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

/**
 * Destroys the backend's device, as a GPU reset would, at its first read-back once `log` (a run's
 * log.jsonl) holds `epochs` lines: early in the next epoch, after that many checkpoints.
 */
export function loseDeviceAfter(backend: WebGpuBackend, log: string, epochs: number): void {
  const read = backend.read.bind(backend);
  let lost = false;
  backend.read = (storage) => {
    if (!lost && existsSync(log) && readFileSync(log, 'utf8').trim().split('\n').length === epochs) {
      lost = true;
      backend.device.destroy();
    }
    return read(storage);
  };
}
