// How quickly the search page answers while a search computes: the round trip of a trivial
// page.evaluate, and the delay from a click on Pause to the frame that shows it was heard. Used by
// test/browserLatency.test.ts (the limits) and `npm run bench` (the figures per backend). Only the
// page's DOM and window.sgas are used, so the same measure runs against any version of the page.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { launchChromium } from '../src/cli/browserSearch.ts';
import { startServer } from '../src/cli/serve.ts';

export interface PageLatency {
  /** Seconds between two shown steps while the search ran undisturbed. */
  stepSeconds: number;
  evaluateMs: number[];
  pauseAckMs: number[];
  /** Steps shown between each Pause click and the search's pause: the one in progress at most. */
  stepsBeforePause: number[];
  /** Set when a measure gave up: the page did not answer within the limit. */
  gaveUp?: string;
}

export interface LatencyOptions {
  /** window.sgas.runSearch's settings: a preset and overrides. */
  settings: Record<string, unknown>;
  /** Pause clicks measured, each followed by Resume. */
  pauses: number;
  /** A measure that takes longer than this ends the run. */
  giveUpMs: number;
  log?: (line: string) => void;
}

/** The nearest-rank percentile. */
export function percentile(values: readonly number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

class GaveUp extends Error {}

/** The promise's result, or GaveUp after `ms`; the promise is left to settle on its own. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  promise.catch(() => {});
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new GaveUp(`${what} took over ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

declare global {
  interface Window {
    latencyProbe?: { clicks: number[]; acks: number[]; steps: number[]; stepsAtClick: number[] };
  }
}

/**
 * Listens in the page: the time stamp of each input event that clicks Pause (when the browser
 * received it, so time spent queued behind busy work counts), the frame after the status line
 * first says it is pausing, and each change of the step line.
 */
function installProbe(): void {
  const probe = { clicks: [] as number[], acks: [] as number[], steps: [] as number[], stepsAtClick: [] as number[] };
  window.latencyProbe = probe;
  let waiting = false;
  const status = document.getElementById('status-text')!;
  document.addEventListener('click', (e) => {
    if ((e.target as Element).closest?.('#pause')) {
      probe.clicks.push(e.timeStamp);
      probe.stepsAtClick.push(probe.steps.length);
      waiting = true;
    }
  }, true);
  new MutationObserver(() => {
    if (waiting && /^paus/.test(status.textContent ?? '')) {
      waiting = false;
      requestAnimationFrame(() => probe.acks.push(performance.now()));
    }
  }).observe(status, { childList: true, characterData: true, subtree: true });
  new MutationObserver(() => probe.steps.push(performance.now()))
    .observe(document.getElementById('step-text')!, { childList: true, characterData: true, subtree: true });
}

/**
 * Starts a search on the open page (its backend ready) and measures while it runs: evaluate
 * round trips every ~100 ms while steps compute, and Pause clicks, each waited on until the
 * search has paused, then resumed. The search is left running.
 */
export async function measurePageLatency(page: Page, options: LatencyOptions): Promise<PageLatency> {
  const { giveUpMs } = options;
  await page.evaluate(installProbe);
  await page.evaluate((settings) => void window.sgas.runSearch(settings).catch(() => {}), options.settings);
  const result: PageLatency = { stepSeconds: NaN, evaluateMs: [], pauseAckMs: [], stepsBeforePause: [] };
  const stepsShown = () => page.evaluate(() => window.latencyProbe!.steps.length);
  const state = (want: string, timeout: number) => page.waitForFunction((s) => window.sgas.state() === s, want, { timeout, polling: 20 });
  const sampleEvaluate = async () => {
    const started = performance.now();
    await within(page.evaluate(() => 1), giveUpMs, 'page.evaluate(() => 1)');
    result.evaluateMs.push(performance.now() - started);
    options.log?.(`page.evaluate ${result.evaluateMs.at(-1)!.toFixed(0)} ms`);
    await sleep(100);
  };
  try {
    // The first step includes building the network and planning memory: measure after it.
    await page.waitForFunction(() => window.latencyProbe!.steps.length >= 1, null, { timeout: 300_000, polling: 100 });
    const first = await stepsShown();
    while ((await within(stepsShown(), giveUpMs, 'reading the page')) < first + 2) await sampleEvaluate();
    const steps = await page.evaluate(() => window.latencyProbe!.steps);
    result.stepSeconds = (steps[first + 1]! - steps[first]!) / 1000;
    for (let i = 0; i < options.pauses; i++) {
      const box = await within(page.locator('#pause').boundingBox({ timeout: 0 }), giveUpMs, 'locating Pause');
      if (!box) throw new GaveUp('Pause is not shown: the search no longer runs');
      await within(page.mouse.click(box.x + box.width / 2, box.y + box.height / 2), giveUpMs, 'the Pause click');
      await within(page.waitForFunction((n) => window.latencyProbe!.acks.length > n, i, { polling: 10, timeout: 0 }), giveUpMs, 'the Pause acknowledgement');
      const [click, ack] = await page.evaluate((n) => [window.latencyProbe!.clicks[n]!, window.latencyProbe!.acks[n]!], i);
      result.pauseAckMs.push(ack - click);
      options.log?.(`Pause acknowledged after ${result.pauseAckMs.at(-1)!.toFixed(0)} ms`);
      await state('paused', 4 * giveUpMs + 2000 * result.stepSeconds);
      // The last step's line is painted in the frame after its message.
      await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
      result.stepsBeforePause.push(await page.evaluate((n) => window.latencyProbe!.steps.length - window.latencyProbe!.stepsAtClick[n]!, i));
      await within(page.click('#resume', { timeout: 0 }), giveUpMs, 'the Resume click');
      await state('running', giveUpMs);
      for (let k = 0; k < 5; k++) await sampleEvaluate();
    }
  } catch (e) {
    if (!(e instanceof GaveUp)) throw e;
    result.gaveUp = e.message;
  }
  return result;
}

/**
 * What the test and the bench search with, per backend, for steps of seconds without a GPU: on
 * WebAssembly the page's default preset at ten times its batch (about 2 s on 2 idle cores; at five
 * times, steps fell under the test's 1 s once the depthwise kernels got faster); on SwiftShader's
 * WebGPU, where that takes minutes a step, the tiny preset (about 3 s).
 */
export const LATENCY_SEARCH = {
  wasm: { preset: 'cpu', batchSize: 320, seed: 3 },
  webgpu: { preset: 'tiny', seed: 3 },
} as const;

export interface BackendLatency extends PageLatency {
  backend: 'webgpu' | 'wasm';
  adapter: string;
  settings: Record<string, unknown>;
}

/** Builds the page, serves it and measures it in headless Chromium on each backend in turn. */
export async function benchPageLatency(backends: ('webgpu' | 'wasm')[], pauses: number): Promise<BackendLatency[]> {
  const root = fileURLToPath(new URL('..', import.meta.url));
  execFileSync(process.execPath, ['esbuild.config.mjs'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  const server = await startServer({ port: 0 });
  const browser = await launchChromium();
  const results: BackendLatency[] = [];
  try {
    for (const backend of backends) {
      const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
      await page.goto(`${server.url}?backend=${backend}`);
      if (!(await page.evaluate(() => window.sgas.ready))) throw new Error(`the page did not open ${backend}: ${await page.textContent('#no-webgpu-reason')}`);
      const adapter = (await page.evaluate(() => window.sgas.adapter()))!;
      const settings = LATENCY_SEARCH[backend];
      results.push({ backend, adapter, settings, ...(await measurePageLatency(page, { settings, pauses, giveUpMs: 60_000 })) });
      await page.close();
    }
  } finally {
    await browser.close();
    await server.close();
  }
  return results;
}
