// The search page on the WebAssembly backend in headless Chromium (the system's, through
// playwright-core): ?backend= picks the backend and the select switches it, auto takes WebAssembly
// on a software adapter, the threaded module runs in workers when the page is cross-origin isolated
// and one thread when it is not, the golden cases pass, and a tiny seeded search ends as Node's
// search on WebAssembly does.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { createWasmBackend } from '../runtime/index.ts';
import { searchCommand } from '../src/cli/search.ts';
import type { SearchReport } from '../src/web/session.ts';
import { launchChromium } from '../src/cli/browserSearch.ts';
import { pageHarness, screenshotWidths, shots, skip } from './helpers/page.ts';

const h = pageHarness();
const SEED = 5;

async function open(url: string): Promise<Page> {
  const page = await h.browser.newPage();
  page.on('pageerror', (e) => process.stderr.write(`page error: ${e.message}\n`));
  page.on('console', (m) => {
    if (m.type() === 'error') process.stderr.write(`page console: ${m.text()}\n`);
  });
  await page.goto(url);
  return page;
}

async function failures(page: Page, files: string[]): Promise<string[]> {
  const results = await page.evaluate((f) => window.sgas.runGolden(f), files);
  for (const file of files) assert.ok(results.filter((r) => r.file === file).length > 0, `${file}: no results`);
  return results.filter((r) => !r.pass).map((r) => `${r.file} ${r.caseName} ${r.tensor} ${r.error ?? r.maxAbs}`);
}

test('?backend=wasm runs on WebAssembly with worker threads, cross-origin isolated', { skip }, async () => {
  const page = await open(`${h.server.url}?backend=wasm`);
  assert.equal(await page.evaluate(() => window.sgas.ready), true);
  assert.equal(await page.evaluate(() => window.sgas.backend()), 'wasm');
  assert.equal(await page.evaluate(() => crossOriginIsolated), true);
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  const adapter = (await page.evaluate(() => window.sgas.adapter()))!;
  // Chromium ships relaxed SIMD, so the page takes the fused multiply-add build.
  assert.match(adapter, /^WebAssembly: \d+ threads?, 128-bit SIMD \+ relaxed SIMD \(fused multiply-add\) \(cross-origin isolated\)$/);
  assert.equal(Number(/(\d+) thread/.exec(adapter)![1]), cores);
  assert.equal(await page.textContent('#adapter'), adapter);
  assert.equal(await page.inputValue('#backend-select'), 'wasm');
  assert.equal(await page.isHidden('#no-webgpu'), true);
  assert.equal(await page.isHidden('#backend-note'), true);
  assert.equal(await page.isDisabled('#start'), false);
  // The kernels are served next to the page, as WebAssembly.
  const wasm = await page.request.get(new URL('wasm/kernels-threads-relaxed.wasm', h.server.url).href);
  assert.equal(wasm.headers()['content-type'], 'application/wasm');
  await page.screenshot({ path: join(shots, 'wasm.png'), fullPage: true });
  await page.close();
});

test('auto takes WebGPU on a real GPU and WebAssembly on a software one, and the select switches backends', { skip }, async () => {
  const page = await open(h.server.url);
  assert.equal(await page.evaluate(() => window.sgas.ready), true);
  const software = await page.evaluate(async () => {
    const info = (await navigator.gpu?.requestAdapter())?.info;
    return !info || info.architecture === 'swiftshader' || (info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  });
  assert.equal(await page.inputValue('#backend-select'), 'auto');
  assert.equal(await page.evaluate(() => window.sgas.backend()), software ? 'wasm' : 'webgpu');
  assert.equal(await page.isVisible('#backend-note'), software, 'the fallback says why');
  if (software) assert.match((await page.textContent('#backend-note'))!, /WebAssembly/);
  assert.equal(await page.isHidden('#no-webgpu'), true);

  await Promise.all([page.waitForURL(/\?backend=webgpu$/), page.selectOption('#backend-select', 'webgpu')]);
  assert.equal(await page.evaluate(() => window.sgas.ready), true);
  assert.equal(await page.evaluate(() => window.sgas.backend()), 'webgpu');
  assert.match((await page.evaluate(() => window.sgas.adapter()))!, /^WebGPU: /);
  assert.equal(await page.inputValue('#backend-select'), 'webgpu');

  await Promise.all([page.waitForURL(/\?backend=wasm$/), page.selectOption('#backend-select', 'wasm')]);
  assert.equal(await page.evaluate(() => window.sgas.ready), true);
  assert.equal(await page.evaluate(() => window.sgas.backend()), 'wasm');
  await page.close();
});

test('without WebGPU, auto runs on WebAssembly and says so', { skip }, async () => {
  const plain = await launchChromium({ webgpu: false });
  try {
    const page = await plain.newPage();
    await page.goto(h.server.url);
    assert.equal(await page.evaluate(() => window.sgas.ready), true);
    assert.equal(await page.evaluate(() => window.sgas.backend()), 'wasm');
    assert.equal(await page.isVisible('#backend-note'), true);
    assert.equal(await page.isHidden('#no-webgpu'), true);
    assert.equal(await page.isDisabled('#start'), false);
    assert.deepEqual(await page.evaluate(() => window.sgas.runGolden(['mixedop.json']).then((r) => r.filter((x) => !x.pass).length)), 0);
    await page.screenshot({ path: join(shots, 'no-webgpu-wasm.png'), fullPage: true });
  } finally {
    await plain.close();
  }
});

test('without cross-origin isolation the page runs the single-threaded module', { skip }, async () => {
  const page = await h.browser.newPage();
  page.on('pageerror', (e) => process.stderr.write(`page error: ${e.message}\n`));
  // The same files, without COOP/COEP: no SharedArrayBuffer, so no worker pool.
  await page.route(`${h.server.url}**`, async (route) => {
    const response = await route.fetch();
    const headers = { ...response.headers() };
    for (const name of ['cross-origin-opener-policy', 'cross-origin-embedder-policy', 'cross-origin-resource-policy']) delete headers[name];
    await route.fulfill({ response, headers });
  });
  await page.goto(`${h.server.url}?backend=wasm`);
  assert.equal(await page.evaluate(() => crossOriginIsolated), false);
  assert.equal(await page.evaluate(() => window.sgas.ready), true);
  assert.match((await page.evaluate(() => window.sgas.adapter()))!, /^WebAssembly: 1 thread, 128-bit SIMD \+ relaxed SIMD \(fused multiply-add\) \(not cross-origin isolated/);
  assert.deepEqual(await failures(page, ['primitives_stride2.json']), []);
  await page.close();
});

test('the golden primitives, blocks and mixedop cases pass in the page on WebAssembly', { skip }, async () => {
  const page = await open(`${h.server.url}?backend=wasm`);
  assert.equal(await page.evaluate(() => window.sgas.ready), true);
  assert.equal(await page.evaluate(() => window.sgas.backend()), 'wasm');
  assert.deepEqual(await failures(page, ['primitives_stride1.json', 'primitives_stride2.json', 'blocks.json', 'mixedop.json']), []);
  await page.close();
});

test('the golden network cases pass in the page on WebAssembly', { skip }, async () => {
  const page = await open(`${h.server.url}?backend=wasm`);
  assert.deepEqual(await failures(page, ['network_weights.json', 'network_decided_weights.json']), []);
  await page.close();
});

test('a tiny seeded search in the page on WebAssembly ends as Node\'s search on WebAssembly', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sgas-browser-wasm-'));
  h.temp.push(dir);
  assert.equal(await searchCommand(['--preset', 'tiny', '--seed', String(SEED), '--out', dir], () => createWasmBackend()), 0);
  const node: SearchReport = JSON.parse(readFileSync(join(dir, 'genotype.json'), 'utf8'));

  const page = await open(`${h.server.url}?backend=wasm`);
  assert.equal(await page.evaluate(() => window.sgas.ready), true);
  assert.equal(await page.evaluate(() => window.sgas.backend()), 'wasm');
  const report = await page.evaluate((seed) => window.sgas.runSearch({ preset: 'tiny', seed }), SEED);
  assert.deepEqual(report.genotype, node.genotype);
  assert.equal(report.python, node.python);
  assert.deepEqual([report.config, report.seed, report.epochs], [node.config, node.seed, node.epochs]);
  for (const type of ['normal', 'reduce'] as const) {
    const worst = Math.max(...report.alphas[type].flatMap((row, e) => row.map((v, k) => Math.abs(v - node.alphas[type][e]![k]!))));
    assert.ok(worst <= 1e-4, `${type} alphas differ by up to ${worst}`);
  }
  await screenshotWidths(page, 'search-wasm-finished');
  await page.close();
});
