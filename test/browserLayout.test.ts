// The search page reads well at any width and works from the keyboard: figures stack full width
// in a narrow window with no text under 10 px and no colliding cell labels, selects show their
// chosen text whole, a bad setting is named by its label and its field marked and focused, the
// status line keeps its size, the resume banner is in view and focused after a reload, the axes
// keep their extent across it, the legend shows only series with data, the decisions list shows
// its first item whole, and axe finds no serious or critical accessibility violation.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import AxeBuilder from '@axe-core/playwright';
import type { Page } from 'playwright-core';
import { nextFrames, pageHarness, skip } from './helpers/page.ts';

const h = pageHarness();
const SEED = 4;

async function open(width: number): Promise<Page> {
  // axe opens a page of its own in the page's context, which must be one made by newContext.
  const context = await h.browser.newContext({ viewport: { width, height: 900 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => process.stderr.write(`page error: ${e.message}\n`));
  await page.goto(`${h.server.url}?backend=wasm`);
  assert.equal(await page.evaluate(() => window.sgas.ready), true);
  return page;
}

/** Serious and critical axe violations, one line each. */
async function axeViolations(page: Page): Promise<string[]> {
  const { violations } = await new AxeBuilder({ page }).analyze();
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/** The smallest rendered text in the figures, in CSS pixels. */
const smallestFigureText = (page: Page) => page.evaluate(() => Math.min(...[...document.querySelectorAll<SVGTextElement>('#figures svg text')]
  .filter((t) => t.textContent)
  .map((t) => parseFloat(getComputedStyle(t).fontSize) * Math.hypot(t.getScreenCTM()!.a, t.getScreenCTM()!.b))));

/** Pairs of edge labels in one cell drawing whose rendered boxes overlap. */
const collidingLabels = (page: Page) => page.evaluate(() => [...document.querySelectorAll('#fig-cell-normal, #fig-cell-reduce')].flatMap((figure) => {
  const boxes = [...figure.querySelectorAll('text.edge-label')].map((t) => ({ text: t.textContent, box: t.getBoundingClientRect() }));
  return boxes.flatMap((a, i) => boxes.slice(i + 1)
    .filter((b) => a.box.left < b.box.right && b.box.left < a.box.right && a.box.top < b.box.bottom && b.box.top < a.box.bottom)
    .map((b) => `${figure.id}: ${a.text} / ${b.text}`));
}));

/** The loss figure's x tick labels. */
const lossAxis = (page: Page) => page.locator('#fig-loss svg text[text-anchor="middle"]').allTextContents();

test('at 400 px: full-width figures, no text under 10 px, whole select texts, named and marked bad settings', { skip }, async () => {
  const page = await open(400);
  // Every select shown shows its chosen option's text whole.
  const clipped = await page.evaluate(() => [...document.querySelectorAll('select')].filter((select) => select.checkVisibility()).flatMap((select) => {
    const style = getComputedStyle(select);
    const context = document.createElement('canvas').getContext('2d')!;
    context.font = `${style.fontSize} ${style.fontFamily}`;
    const text = select.selectedOptions[0]!.text;
    // The arrow takes about 20 px of the content box.
    const room = select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 20;
    return context.measureText(text).width > room ? [`#${select.id}: '${text}' needs ${context.measureText(text).width.toFixed(0)} px of ${room} px`] : [];
  }));
  assert.deepEqual(clipped, []);

  const widths = await page.evaluate(() => ({
    main: document.querySelector('main')!.clientWidth,
    figures: [...document.querySelectorAll('#figures figure')].map((f) => f.getBoundingClientRect()),
  }));
  assert.ok(widths.figures.every((f) => f.left === widths.figures[0]!.left && f.width === widths.figures[0]!.width), 'one column');
  assert.ok(widths.figures[0]!.width > widths.main - 30, `figures ${widths.figures[0]!.width} px wide in a ${widths.main} px page`);
  assert.ok(await smallestFigureText(page) >= 9.99, 'figure text of 10 px or more');

  // A bad value: named by its label, in the error colour, its field marked and focused.
  await page.fill('#batchSize', '0');
  await page.click('#start');
  const summary = page.locator('#settings-summary');
  assert.match((await summary.textContent())!, /^Batch size must be a positive integer, got 0$/);
  assert.equal(await summary.evaluate((e) => getComputedStyle(e).color), 'rgb(180, 35, 24)');
  assert.equal(await page.getAttribute('#batchSize', 'aria-invalid'), 'true');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'batchSize');
  assert.equal(await page.evaluate(() => window.sgas.state()), 'idle', 'nothing started');
  await page.fill('#batchSize', '2.5');
  assert.match((await summary.textContent())!, /^Batch size: expected an integer, got '2.5'$/);
  await page.fill('#batchSize', '16');
  assert.equal(await page.getAttribute('#batchSize', 'aria-invalid'), null);
  assert.notEqual(await summary.evaluate((e) => getComputedStyle(e).color), 'rgb(180, 35, 24)');
  assert.deepEqual(await axeViolations(page), []);
  await page.context().close();
});

test('driven from the keyboard: a search starts, pauses, resumes after a reload in view and with the same axes, and finishes', { skip }, async () => {
  const page = await open(400);
  const statusSize = () => page.locator('#status-text').evaluate((e) => getComputedStyle(e).fontSize);
  const idleSize = await statusSize();
  // Tiny with four steps an epoch, chosen and started with keys only.
  await page.focus('#preset');
  await page.selectOption('#preset', 'tiny');
  await page.focus('#batchSize');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('4');
  await page.focus('#seed');
  await page.keyboard.press('Control+A');
  await page.keyboard.type(String(SEED));
  await page.keyboard.press('Tab');
  for (let i = 0; i < 10 && (await page.evaluate(() => document.activeElement?.id)) !== 'start'; i++) await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'start', 'Tab reaches Start from the form');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => window.sgas.epoch() >= 3, null, { timeout: 120_000 });
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'pause', 'the focus moves from Start, now disabled, to Pause');
  await page.keyboard.press('Space');
  await page.waitForFunction(() => window.sgas.state() === 'paused', null, { timeout: 60_000 });
  assert.equal(await statusSize(), idleSize, 'the status line keeps its size');
  assert.deepEqual(await axeViolations(page), []);
  assert.deepEqual(await collidingLabels(page), []);
  assert.ok(await smallestFigureText(page) >= 9.99);

  // The reload lands on the resume banner, whatever the scroll position was.
  const axis = await lossAxis(page);
  await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
  await page.reload();
  await page.waitForFunction(() => window.sgas?.state() === 'paused', null, { timeout: 30_000 });
  await nextFrames(page);
  const banner = await page.evaluate(() => {
    const box = document.getElementById('resume-banner')!.getBoundingClientRect();
    return { top: box.top, bottom: box.bottom, height: innerHeight, focused: document.activeElement?.id };
  });
  assert.ok(banner.top >= 0 && banner.bottom <= banner.height, `the banner is in view (${banner.top}–${banner.bottom} of ${banner.height})`);
  assert.equal(banner.focused, 'resume-banner');
  assert.deepEqual(await lossAxis(page), axis, 'the loss axis keeps its extent across the reload');

  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'resume-stored', 'Tab from the banner reaches its Resume');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.activeElement?.id === 'pause', null, { timeout: 30_000 });
  await page.waitForFunction(() => window.sgas.state() === 'finished', null, { timeout: 120_000 });
  await nextFrames(page);
  assert.equal(await statusSize(), idleSize);
  assert.deepEqual(await lossAxis(page), axis, 'the loss axis keeps its extent to the end');
  const legend = await page.locator('#fig-loss svg').textContent();
  assert.ok(legend!.includes('valid loss') && !legend!.includes('train, this epoch'), 'no legend entry for the finished epoch line');
  assert.deepEqual(await collidingLabels(page), []);
  assert.ok(await page.locator('#fig-cell-normal rect.label-halo').count() >= 8, 'each op label on a halo');

  // The decisions list overflows; its top item shows whole, and its newest one too.
  const decisions = await page.evaluate(() => {
    const list = document.getElementById('decisions')!.getBoundingClientRect();
    const items = [...document.querySelectorAll('#decisions li')].map((li) => li.getBoundingClientRect());
    const visible = items.filter((b) => b.bottom > list.top && b.top < list.bottom);
    return { overflows: items.length > visible.length, topCut: visible[0]!.top < list.top - 0.5, lastCut: items.at(-1)!.bottom > list.bottom + 0.5 };
  });
  assert.deepEqual(decisions, { overflows: true, topCut: false, lastCut: false });
  await page.setViewportSize({ width: 1600, height: 900 });
  await nextFrames(page);
  assert.deepEqual(await axeViolations(page), []);
  assert.deepEqual(await collidingLabels(page), []);
  await page.context().close();
});
