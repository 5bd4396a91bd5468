// What every page test needs: the built page served on an ephemeral port, Debian's Chromium
// driven through playwright-core, a screenshot folder (and screenshots at a wide and a narrow
// width), and temporary folders removed afterwards.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { chromiumPath, launchChromium, type ChromiumOptions } from '../../src/cli/browserSearch.ts';
import { startServer, type RunningServer } from '../../src/cli/serve.ts';

export const root = fileURLToPath(new URL('../..', import.meta.url));
export const shots = join(root, 'test-results', 'browser');
export const skip = existsSync(chromiumPath()) ? false : `no Chromium at ${chromiumPath()}: scripts/setup.sh installs Debian's chromium`;

export interface PageHarness {
  readonly server: RunningServer;
  readonly browser: Browser;
  /** Folders to delete after the file's tests. */
  readonly temp: string[];
}

/** Registers the file's before/after hooks; call once at the top level of a test file. */
export function pageHarness(chromium: ChromiumOptions = {}): PageHarness {
  const state = { server: null as RunningServer | null, browser: null as Browser | null, temp: [] as string[] };
  before(async () => {
    if (skip) return;
    execFileSync(process.execPath, ['esbuild.config.mjs'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
    mkdirSync(shots, { recursive: true });
    state.server = await startServer({ port: 0 });
    state.browser = await launchChromium(chromium);
  });
  after(async () => {
    await state.browser?.close();
    await state.server?.close();
    for (const dir of state.temp) rmSync(dir, { recursive: true, force: true });
  });
  return {
    get server() {
      return state.server!;
    },
    get browser() {
      return state.browser!;
    },
    temp: state.temp,
  };
}

/** Resolves after the page has painted two more frames (its figures repaint in animation frames). */
export function nextFrames(page: Page): Promise<void> {
  return page.evaluate(() => new Promise<void>((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve()))));
}

/** Full-page screenshots as the page stands, 1600 and 400 px wide: test-results/browser/NAME-1600.png and NAME-400.png. */
export async function screenshotWidths(page: Page, name: string): Promise<void> {
  const viewport = page.viewportSize();
  for (const width of [1600, 400]) {
    await page.setViewportSize({ width, height: 1000 });
    await nextFrames(page);
    await page.screenshot({ path: join(shots, `${name}-${width}.png`), fullPage: true });
  }
  if (viewport) await page.setViewportSize(viewport);
}

/** Discard, then a reload at once: the page is idle right away, and after the reload nothing stored comes back. */
export async function discardAndReload(page: Page): Promise<void> {
  await page.click('#discard');
  assert.equal(await page.evaluate(() => window.sgas.state()), 'idle');
  await page.reload();
  assert.equal(await page.evaluate(() => window.sgas.ready), true);
  assert.equal(await page.evaluate(() => window.sgas.restored), false);
  assert.equal(await page.evaluate(() => window.sgas.state()), 'idle');
  assert.equal(await page.isHidden('#resume-banner'), true);
}
