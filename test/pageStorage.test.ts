// The page's saves in IndexedDB carry the checkpoint's checksum: after a reload, a damaged newest
// save falls back to the one before it, saying so, and two damaged saves are said plainly. A
// Discard holds even when the page reloads before IndexedDB has deleted the search.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { discardAndReload, pageHarness, skip } from './helpers/page.ts';

const h = pageHarness();

type Key = 'current' | 'previous';

/** Reads or rewrites the page's saves as the page stores them (database sgas-webgpu, store search). */
function stored(page: Page, key: Key, change?: { flip?: number; cut?: number }) {
  return page.evaluate(async ({ key, change }) => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open('sgas-webgpu', 1);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    const tx = db.transaction('search', 'readwrite');
    const store = tx.objectStore('search');
    const record = await new Promise<{ checkpoint: Uint8Array; records: unknown[] }>((resolve) => {
      const request = store.get(key);
      request.onsuccess = () => resolve(request.result);
    });
    if (change?.flip !== undefined) record.checkpoint[record.checkpoint.length - change.flip]! ^= 0x10;
    if (change?.cut !== undefined) record.checkpoint = record.checkpoint.slice(0, change.cut);
    if (change) store.put(record, key);
    await new Promise((resolve) => (tx.oncomplete = resolve));
    db.close();
    return { epochs: record.records.length, checkpoint: Array.from(record.checkpoint.subarray(0, 64)), length: record.checkpoint.length };
  }, { key, change });
}

async function reload(page: Page): Promise<void> {
  await page.reload();
  await page.waitForFunction(() => window.sgas?.state() === 'paused' || window.sgas?.state() === 'failed', null, { timeout: 60_000 });
}

test('a damaged newest save in IndexedDB falls back to the save before it; both damaged fails, naming each', { skip }, async () => {
  const context = await h.browser.newContext();
  const page = await context.newPage();
  await page.goto(`${h.server.url}?backend=wasm`);
  assert.equal(await page.evaluate(() => window.sgas.ready), true);
  void page.evaluate(() => window.sgas.runSearch({ preset: 'tiny', seed: 3 })).catch(() => 'reloaded');
  await page.waitForFunction(() => window.sgas.savedEpoch() >= 2, null, { timeout: 120_000 });
  await page.evaluate(() => window.sgas.pause());
  await page.waitForFunction(() => window.sgas.state() === 'paused', null, { timeout: 60_000 });
  const newest = await stored(page, 'current');
  const previous = await stored(page, 'previous');
  // The pause saves too, after its step: the save before it is the last epoch's end (or, when the
  // pause landed on an epoch's end, the epoch before).
  assert.ok(previous.epochs === newest.epochs || previous.epochs === newest.epochs - 1, `saves of ${previous.epochs} and ${newest.epochs} epochs`);

  await stored(page, 'current', { flip: 100 });
  await reload(page);
  assert.equal(await page.evaluate(() => window.sgas.epoch()), previous.epochs);
  assert.match(await page.evaluate(() => window.sgas.message()),
    /epochs done \(restored; the newest saved checkpoint is damaged: checksum mismatch \(stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\).*: restored the checkpoint saved before it\)/);
  assert.equal(await page.isVisible('#resume-banner'), true);
  const restored = Buffer.from(await page.evaluate(() => window.sgas.checkpointBase64()!), 'base64');
  assert.deepEqual(Array.from(restored.subarray(0, 64)), previous.checkpoint);
  assert.equal(restored.length, previous.length);

  await stored(page, 'previous', { cut: previous.length - 1000 });
  await reload(page);
  assert.equal(await page.evaluate(() => window.sgas.state()), 'failed');
  assert.match((await page.textContent('#status-text'))!,
    new RegExp(`^failed — could not read the stored search: no intact checkpoint: the newest saved checkpoint is damaged: checksum mismatch .*; ` +
      `the checkpoint saved before it is damaged: truncated: ${previous.length - 1000} of its ${previous.length} bytes$`));
  await context.close();
});

test('Discard holds when the page reloads before IndexedDB has deleted the search (its delete still waiting)', { skip }, async () => {
  const context = await h.browser.newContext();
  const page = await context.newPage();
  await page.goto(`${h.server.url}?backend=wasm`);
  assert.equal(await page.evaluate(() => window.sgas.ready), true);
  void page.evaluate(() => window.sgas.runSearch({ preset: 'tiny', seed: 3 })).catch(() => 'discarded');
  await page.waitForFunction(() => window.sgas.savedEpoch() >= 1, null, { timeout: 120_000 });
  await page.evaluate(() => window.sgas.pause());
  await page.waitForFunction(() => window.sgas.state() === 'paused', null, { timeout: 60_000 });
  // Another connection's read-write transaction on the store, kept open by one read after another,
  // holds the Discard's delete back until the page goes, as a large save in progress would.
  await page.evaluate(() => new Promise<void>((resolve, reject) => {
    const request = indexedDB.open('sgas-webgpu', 1);
    request.onerror = () => reject(request.error);
    request.onsuccess = () => {
      // An object's method, not a named function: the test's transform would wrap that in a helper the page lacks.
      const hold = {
        store: request.result.transaction('search', 'readwrite').objectStore('search'),
        again(): void {
          hold.store.get('current').onsuccess = () => hold.again();
        },
      };
      hold.store.get('current').onsuccess = () => {
        hold.again();
        resolve();
      };
    };
  }));
  await discardAndReload(page);
  assert.deepEqual(await page.evaluate(() => new Promise((resolve, reject) => {
    const request = indexedDB.open('sgas-webgpu', 1);
    request.onerror = () => reject(request.error);
    request.onsuccess = () => {
      const keys = request.result.transaction('search', 'readonly').objectStore('search').getAllKeys();
      keys.onsuccess = () => resolve({ keys: keys.result, note: localStorage.getItem('sgas-webgpu:discarded-at') });
    };
  })), { keys: [], note: null });
  await context.close();
});
