// A tiny seeded search on both backends: the same genotype, and alphas equal to float rounding.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createWasmBackend, createWebGpuBackend, type Backend } from '../runtime/index.ts';
import type { SearchResult } from '../src/search/search.ts';
import { assertClose } from './helpers/gpu.ts';
import { tinySearch } from './helpers/search.ts';

async function tinySearchOn(backend: Backend & { destroy(): void }, seed: number): Promise<SearchResult> {
  try {
    return await tinySearch(backend, seed);
  } finally {
    backend.destroy();
  }
}

test('a tiny seeded search ends with the same genotype on WebAssembly as on WebGPU', async () => {
  const wasm = await tinySearchOn(await createWasmBackend(), 7);
  const webgpu = await tinySearchOn(await createWebGpuBackend(), 7);
  assert.deepEqual(wasm.genotype, webgpu.genotype);
  for (const type of ['normal', 'reduce'] as const) {
    assertClose(wasm.alphas[type].flat(), webgpu.alphas[type].flat(), `${type} alphas`, 1e-5, 1e-4);
  }
});
