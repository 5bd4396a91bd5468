// The search page in headless Chromium (the system's, through playwright-core): it finds an
// adapter, passes golden cases, `sgas search --browser` gives a Node run's output folder and the
// same search result, a reload mid-search resumes to the same genotype, and without WebGPU the
// page says what it needs. Screenshots go to test-results/browser/.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createWebGpuBackend, type WebGpuBackend } from '../runtime/index.ts';
import { searchCommand } from '../src/cli/search.ts';
import { presetConfig } from '../src/search/config.ts';
import type { SearchReport } from '../src/web/session.ts';
import { launchChromium } from '../src/cli/browserSearch.ts';
import { pageHarness, screenshotWidths, shots, skip } from './helpers/page.ts';

const h = pageHarness();
const SEED = 5;
let nodeBackend: WebGpuBackend | null = null;

after(() => nodeBackend?.destroy());

/** The page on WebGPU, asked for explicitly (auto would take WebAssembly on SwiftShader). */
const webgpuUrl = () => `${h.server.url}?backend=webgpu`;

async function open(context: BrowserContext | Browser, url = webgpuUrl()): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (e) => process.stderr.write(`page error: ${e.message}\n`));
  await page.goto(url);
  return page;
}

const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

function assertAlphasClose(got: SearchReport['alphas'], want: SearchReport['alphas'], what: string): void {
  for (const type of ['normal', 'reduce'] as const) {
    const worst = Math.max(...got[type].flatMap((row, e) => row.map((v, k) => Math.abs(v - want[type][e]![k]!))));
    assert.ok(worst <= 1e-4, `${what}: ${type} alphas differ by up to ${worst}`);
  }
}

/** The tiny seeded search as `sgas search` in Node and as `sgas search --browser`, run once. */
let runs: Promise<{ node: string; browser: string }> | null = null;
function cliRuns() {
  runs ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sgas-browser-'));
    h.temp.push(dir);
    const out = { node: join(dir, 'node'), browser: join(dir, 'browser') };
    nodeBackend = await createWebGpuBackend();
    const args = ['--preset', 'tiny', '--seed', String(SEED)];
    assert.equal(await searchCommand([...args, '--out', out.node], async () => nodeBackend!), 0);
    const noGpu = async () => assert.fail('--browser must not open a GPU in Node');
    assert.equal(await searchCommand([...args, '--out', out.browser, '--browser'], noGpu), 0);
    return out;
  })();
  return runs;
}

test('the page is cross-origin isolated, finds a WebGPU adapter and offers the CLI defaults', { skip }, async () => {
  const page = await h.browser.newPage();
  const response = await page.goto(webgpuUrl());
  assert.equal(response!.headers()['cross-origin-opener-policy'], 'same-origin');
  assert.equal(response!.headers()['cross-origin-embedder-policy'], 'require-corp');
  assert.equal(await page.evaluate(() => window.sgas.ready), true);
  assert.match((await page.evaluate(() => window.sgas.adapter()))!, /^WebGPU: /);
  assert.equal(await page.evaluate(() => window.sgas.backend()), 'webgpu');
  assert.equal(await page.inputValue('#backend-select'), 'webgpu');
  assert.equal(await page.evaluate(() => crossOriginIsolated), true);
  assert.equal(await page.inputValue('#preset'), 'cpu');
  const cpu = presetConfig('cpu');
  for (const key of ['initChannels', 'layers', 'batchSize', 'learningRate', 'archLearningRate', 'warmupDecEpoch', 'decisionFreq', 'seed'] as const) {
    assert.equal(Number(await page.inputValue(`#${key}`)), cpu[key], key);
  }
  assert.equal(await page.inputValue('#recompute'), cpu.recompute);
  assert.deepEqual(await page.locator('#recompute option').evaluateAll((options) => options.map((o) => (o as HTMLOptionElement).value)), ['auto', 'cells', 'off']);
  assert.equal(await page.isHidden('#no-webgpu'), true);
  await page.close();
});

test('the golden primitives and mixedop cases pass in the page', { skip }, async () => {
  const page = await open(h.browser);
  const files = ['primitives_stride1.json', 'primitives_stride2.json', 'mixedop.json'];
  const results = await page.evaluate((f) => window.sgas.runGolden(f), files);
  for (const file of files) assert.ok(results.filter((r) => r.file === file).length > 10, `${file}: too few results`);
  assert.deepEqual(results.filter((r) => !r.pass).map((r) => `${r.file} ${r.caseName} ${r.tensor} ${r.error ?? r.maxAbs}`), []);
  await page.close();
});

test('sgas search --browser writes the folder a Node run writes, with the same genotype and alphas', { skip }, async () => {
  const out = await cliRuns();
  assert.deepEqual(readdirSync(out.browser).sort(), readdirSync(out.node).sort());
  const [node, page] = [readJson(join(out.node, 'genotype.json')), readJson(join(out.browser, 'genotype.json'))];
  assert.deepEqual(Object.keys(page).sort(), Object.keys(node).sort());
  assert.deepEqual(page.genotype, node.genotype);
  assert.equal(page.python, node.python);
  assert.deepEqual([page.config, page.seed, page.epochs], [node.config, node.seed, node.epochs]);
  assertAlphasClose(page.alphas, node.alphas, 'page vs Node');
  const log = (dir: string) => readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const decisions = (dir: string) => log(dir).map((r) => [r.epoch, r.cells.normal.decided, r.cells.reduce.decided]);
  assert.equal(log(out.browser).length, 9);
  assert.deepEqual(decisions(out.browser), decisions(out.node));
  // The page's checkpoint is the CLI's format: Node resumes it (finished: it rewrites the result).
  assert.equal(await searchCommand(['--resume', out.browser], async () => nodeBackend!), 0);
  assert.deepEqual(readJson(join(out.browser, 'genotype.json')).genotype, node.genotype);
});

test('pause, resume, a lost device and a reload mid-search that resumes from IndexedDB end with the same genotype', { skip }, async () => {
  const reference: SearchReport = readJson(join((await cliRuns()).browser, 'genotype.json'));
  const context = await h.browser.newContext({ viewport: { width: 1600, height: 1000 }, acceptDownloads: true });
  const page = await open(context);
  const interrupted = page.evaluate((seed) => window.sgas.runSearch({ preset: 'tiny', seed }), SEED).catch(() => 'reloaded');
  await page.waitForFunction(() => window.sgas.epoch() >= 1, null, { timeout: 120_000 });
  await page.click('#pause');
  await page.waitForFunction(() => window.sgas.state() === 'paused', null, { timeout: 60_000 });
  const paused = await page.evaluate(() => window.sgas.epoch());
  assert.equal(await page.isVisible('#resume'), true);
  assert.equal(await page.isVisible('#pause'), false);
  assert.match((await page.textContent('#status-text'))!, new RegExp(`^paused — ${paused} of 9 epochs done`));
  await page.click('#resume');
  // A GPU reset while it runs: the page opens a new device and goes on from the last checkpoint.
  assert.equal(await page.evaluate(() => window.sgasGpu.loseDevice()), true);
  await page.waitForFunction(() => window.sgasGpu.deviceLosses().length === 1, null, { timeout: 60_000 });
  const [loss] = await page.evaluate(() => window.sgasGpu.deviceLosses());
  assert.ok(loss!.epochsDone - loss!.resumedAt <= 1 && loss!.resumedAt >= paused, `resumed at ${loss!.resumedAt} after ${loss!.epochsDone} epochs`);
  await page.waitForFunction(() => window.sgas.savedEpoch() >= 3, null, { timeout: 120_000 });
  await screenshotWidths(page, 'search-webgpu-mid');
  await page.reload();
  assert.equal(await interrupted, 'reloaded');
  await page.waitForFunction(() => window.sgas?.state() === 'paused', null, { timeout: 30_000 });
  const restored = await page.evaluate(() => window.sgas.epoch());
  assert.ok(restored >= 3 && restored < 9, `restored after epoch ${restored}`);
  assert.equal(await page.isVisible('#resume-banner'), true);
  assert.match((await page.textContent('#resume-text'))!, new RegExp(`seed ${SEED}\\) stopped after epoch ${restored} of 9`));
  const decided = await page.evaluate(() => window.sgas.records().flatMap((r) => [r.cells.normal.decided, r.cells.reduce.decided]).filter(Boolean).length);
  assert.equal(await page.locator('#decisions li').count(), decided, 'the restored decisions are listed');

  await page.click('#resume-stored');
  await page.waitForFunction(() => window.sgas.state() === 'finished', null, { timeout: 120_000 });
  await screenshotWidths(page, 'search-webgpu-finished');
  const report = (await page.evaluate(() => window.sgas.report()))!;
  assert.deepEqual(report.genotype, reference.genotype);
  assertAlphasClose(report.alphas, reference.alphas, 'paused, device lost, reloaded vs uninterrupted');
  // The found cell's weights, as the CLI's closing line gives them.
  const weights = (await page.textContent('#cell-weights'))!;
  assert.ok(report.trainParameters.count > 0);
  assert.ok(weights.includes(`${report.trainParameters.count.toLocaleString('en-US')} weights at the cpu training preset (C=8, 8 cells`), weights);

  const download = async (button: string) => {
    const [file] = await Promise.all([page.waitForEvent('download'), page.click(button)]);
    return { name: file.suggestedFilename(), bytes: readFileSync((await file.path())!) };
  };
  const genotype = await download('#download-genotype');
  assert.equal(genotype.name, 'genotype.json');
  assert.deepEqual(JSON.parse(genotype.bytes.toString()), report);
  assert.deepEqual(Object.keys(report).sort(), Object.keys(reference).sort());
  const log = await download('#download-log');
  assert.deepEqual(log.bytes.toString().trim().split('\n').map((l) => JSON.parse(l).epoch), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  const checkpoint = await download('#download-checkpoint');
  assert.equal(checkpoint.bytes.subarray(0, 8).toString(), 'SGASCKP2');
  await context.close();
});

test('asked for WebGPU without it, the page says what the browser needs', { skip }, async () => {
  const needs = async (page: Page, reason: RegExp, shot: string) => {
    assert.equal(await page.evaluate(() => window.sgas.ready), false);
    assert.equal(await page.isVisible('#no-webgpu'), true);
    const text = (await page.textContent('#no-webgpu'))!;
    for (const need of [/Chrome or Edge 113/, /secure context/, /--enable-unsafe-webgpu/]) assert.match(text, need);
    assert.match((await page.textContent('#no-webgpu-reason'))!, reason);
    assert.equal(await page.isDisabled('#start'), true);
    await page.screenshot({ path: join(shots, shot), fullPage: true });
  };
  const plain = await launchChromium({ webgpu: false });
  try {
    await needs(await open(plain), /offered no adapter/, 'no-webgpu.png');
  } finally {
    await plain.close();
  }
  // An http origin other than localhost is not a secure context, so navigator.gpu is missing.
  const page = await h.browser.newPage();
  await page.route('http://sgas.test/**', async (route) =>
    route.fulfill({ response: await route.fetch({ url: new URL(new URL(route.request().url()).pathname, h.server.url).href }) }));
  await page.goto('http://sgas.test/?backend=webgpu');
  await needs(page, /not a secure context/, 'no-webgpu-insecure.png');
  await page.close();
});
