// A tiny seeded search on both backends: the same genotype, and alphas equal to float rounding.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createWasmBackend, createWebGpuBackend, type Backend } from '../runtime/index.ts';
import { loadDataset } from '../src/data/load.ts';
import { presetConfig } from '../src/search/config.ts';
import { prepareSearchData, Search, type SearchResult } from '../src/search/search.ts';
import { assertClose } from './helpers/gpu.ts';

const train = loadDataset(undefined, 'train');

async function tinySearch(backend: Backend & { destroy(): void }, seed: number): Promise<SearchResult> {
  const config = { ...presetConfig('tiny'), seed };
  const search = new Search(backend, config, prepareSearchData(train, config));
  try {
    return (await search.run())!;
  } finally {
    search.release();
    backend.destroy();
  }
}

test('a tiny seeded search ends with the same genotype on WebAssembly as on WebGPU', async () => {
  const wasm = await tinySearch(await createWasmBackend(), 7);
  const webgpu = await tinySearch(await createWebGpuBackend(), 7);
  assert.deepEqual(wasm.genotype, webgpu.genotype);
  for (const type of ['normal', 'reduce'] as const) {
    assertClose(wasm.alphas[type].flat(), webgpu.alphas[type].flat(), `${type} alphas`, 1e-5, 1e-4);
  }
});
