// The tiny seeded search on every backend and WebGPU implementation this machine has: WebAssembly,
// SwiftShader (Vulkan) and Mesa's llvmpipe (Dawn's OpenGL ES), both WebGPU adapters in compatibility
// mode at its default limits, which every kernel must fit. One genotype on all three. And a search
// whose device is lost mid-epoch says so, opens a new device, goes on from the last checkpoint and
// ends bit for bit as the uninterrupted search on that adapter.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createWasmBackend, createWebGpuBackend, type Backend, type DeviceOptions } from '../runtime/index.ts';
import { searchCommand } from '../src/cli/search.ts';
import { genotypeToJson } from '../src/search/genotype.ts';
import type { SearchResult } from '../src/search/search.ts';
import { SMOKE_SEED } from '../src/search/smoke.ts';
import { assertClose, loseDeviceAfter } from './helpers/gpu.ts';
import { tinySearch } from './helpers/search.ts';

const COMPATIBILITY: DeviceOptions = { featureLevel: 'compatibility', limits: 'default' };

async function tinySearchOn(backend: Backend & { destroy(): void }): Promise<SearchResult> {
  try {
    return await tinySearch(backend, SMOKE_SEED);
  } finally {
    backend.destroy();
  }
}

let searches: Promise<Record<'wasm' | 'swiftshader' | 'llvmpipe', SearchResult>> | null = null;

/** Each search once per file, one after another (they share the two cores). */
function allSearches() {
  searches ??= (async () => ({
    wasm: await tinySearchOn(await createWasmBackend()),
    swiftshader: await tinySearchOn(await createWebGpuBackend({ adapter: 'swiftshader', ...COMPATIBILITY })),
    llvmpipe: await tinySearchOn(await createWebGpuBackend({ adapter: 'llvmpipe', ...COMPATIBILITY })),
  }))();
  return searches;
}

test('the tiny search ends with the same genotype on WebAssembly, SwiftShader and llvmpipe (compatibility mode)', async () => {
  const { wasm, swiftshader, llvmpipe } = await allSearches();
  for (const [name, result] of Object.entries({ swiftshader, llvmpipe })) {
    assert.deepEqual(result.genotype, wasm.genotype, `${name} vs wasm`);
    for (const type of ['normal', 'reduce'] as const) assertClose(result.alphas[type].flat(), wasm.alphas[type].flat(), `${name} ${type} alphas`, 1e-5, 1e-4);
  }
});

test('a search whose device is lost mid-epoch reports it, recomputes at most one epoch and ends bit for bit as without the loss', async () => {
  const { llvmpipe: reference } = await allSearches();
  const out = mkdtempSync(join(tmpdir(), 'sgas-lost-'));
  try {
    const backend = await createWebGpuBackend({ adapter: 'llvmpipe', ...COMPATIBILITY });
    loseDeviceAfter(backend, join(out, 'log.jsonl'), 3);
    assert.equal(await searchCommand(['--preset', 'tiny', '--seed', String(SMOKE_SEED), '--out', out], async () => backend), 0);
    const log = readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const losses = log.filter((r) => r.type === 'device-lost');
    assert.equal(losses.length, 1, 'the loss is logged');
    const [loss] = losses;
    assert.match(loss.message, /WebGPU device lost \(destroyed/);
    assert.deepEqual([loss.epochsDone, loss.resumedAt], [3, 3], 'lost in epoch 4, which is all that is computed again');
    assert.deepEqual(log.filter((r) => r.type === 'epoch').map((r) => r.epoch), [0, 1, 2, 3, 4, 5, 6, 7, 8], 'each epoch logged once');
    const result = JSON.parse(readFileSync(join(out, 'genotype.json'), 'utf8'));
    assert.deepEqual(result.genotype, genotypeToJson(reference.genotype));
    assert.deepEqual(result.alphas, reference.alphas, 'alphas bit for bit');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
