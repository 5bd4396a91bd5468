// The page on each WebGPU adapter the browser offers: here Chromium's SwiftShader and, with
// --use-webgpu-adapter=opengles, its OpenGL ES adapter (compatibility mode only). Every golden case
// passes on each, and the tiny search in the page ends with the genotype Node finds on WebAssembly
// (the SwiftShader page's search is compared in browser.test.ts). Google Chrome, when installed,
// gets the same; the test says it skips when it is not.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { createWasmBackend } from '../runtime/index.ts';
import { launchChromium } from '../src/cli/browserSearch.ts';
import { genotypeToJson } from '../src/search/genotype.ts';
import { SMOKE_SEED } from '../src/search/smoke.ts';
import { pageHarness, root, skip } from './helpers/page.ts';
import { tinySearch } from './helpers/search.ts';

const OPENGLES = ['--use-webgpu-adapter=opengles'];
const h = pageHarness({ args: OPENGLES });
const goldenFiles = readdirSync(join(root, 'test', 'golden')).filter((f) => f.endsWith('.json'));

// Where Playwright's 'chrome' channel looks on Linux.
const CHROME = '/opt/google/chrome/chrome';
const chromeSkip = skip || (existsSync(CHROME) ? false : `Google Chrome is not installed (${CHROME}); install it to run these checks on Chrome too`);

let reference: Promise<ReturnType<typeof genotypeToJson>> | null = null;
function nodeGenotype() {
  reference ??= (async () => {
    const wasm = await createWasmBackend();
    try {
      return genotypeToJson((await tinySearch(wasm, SMOKE_SEED)).genotype);
    } finally {
      wasm.destroy();
    }
  })();
  return reference;
}

async function open(browser: Browser): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (e) => process.stderr.write(`page error: ${e.message}\n`));
  await page.goto(`${h.server.url}?backend=wasm`);
  await page.waitForFunction(() => window.sgasGpu !== undefined);
  return page;
}

/** Every golden case on each of the browser's adapters, and the tiny search's genotype on those `search` picks. */
async function checkBrowser(browser: Browser, search: (a: { index: number; featureLevel: string }) => boolean): Promise<void> {
  const page = await open(browser);
  try {
    const adapters = await page.evaluate(() => window.sgasGpu.adapters());
    assert.ok(adapters.length >= 1, 'the page lists an adapter');
    for (const adapter of adapters) {
      const results = await page.evaluate(({ index, files }) => window.sgasGpu.golden(String(index), files), { index: adapter.index, files: goldenFiles });
      assert.ok(results.length > 3000, `adapter ${adapter.index}: ${results.length} golden results`);
      assert.deepEqual(results.filter((r) => !r.pass).map((r) => `${r.file} ${r.caseName} ${r.tensor} ${r.error ?? r.maxAbs}`), [], `adapter ${adapter.index}`);
    }
    for (const adapter of adapters.filter(search)) {
      const found = await page.evaluate(({ index, seed }) => window.sgasGpu.tinySearch(String(index), seed), { index: adapter.index, seed: SMOKE_SEED });
      assert.deepEqual(found.genotype, await nodeGenotype(), `adapter ${adapter.index} (${adapter.featureLevel}) vs Node on WebAssembly`);
    }
  } finally {
    await page.close();
  }
}

test("Chromium's adapters: SwiftShader and OpenGL ES (compatibility mode) each pass every golden case, and the search matches Node's", { skip }, async () => {
  const page = await open(h.browser);
  const adapters = await page.evaluate(() => window.sgasGpu.adapters());
  await page.close();
  assert.deepEqual(adapters.map((a) => a.featureLevel).sort(), ['compatibility', 'core'], JSON.stringify(adapters));
  assert.ok(adapters.some((a) => a.architecture === 'swiftshader'));
  await checkBrowser(h.browser, (a) => a.featureLevel === 'compatibility');
});

test('Google Chrome (channel chrome): the same on its adapters', { skip: chromeSkip }, async () => {
  const chrome = await launchChromium({ channel: 'chrome', args: OPENGLES });
  try {
    await checkBrowser(chrome, () => true);
  } finally {
    await chrome.close();
  }
});
