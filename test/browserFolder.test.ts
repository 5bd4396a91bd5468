// Your own images in the page: a folder given to the directory input is read in the engine Worker
// by the CLI's rules. The page shows its classes with counts and samples and the files skipped or
// ignored, refuses the folders the CLI refuses with the CLI's messages, searches on it, resumes
// after a reload without the folder, and records the data as `sgas search --data` does: PNG
// exactly, JPEG within a stated tolerance. Screenshots of the summary (test-results/browser/).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import AxeBuilder from '@axe-core/playwright';
import type { Page } from 'playwright-core';
import { createWasmBackend, type WasmBackend } from '../runtime/index.ts';
import { searchCommand } from '../src/cli/search.ts';
import { dataInfoOf, type DataInfo } from '../src/data/dataInfo.ts';
import { loadImageFolder, type DiskFolderOptions } from '../src/data/folderLoad.ts';
import { decodeCheckpoint } from '../src/search/checkpoint.ts';
import { assertClose } from './helpers/gpu.ts';
import { copiesFolder, fashionSamples, FOLDER_CLASSES, writeJpegFolder, writePngFolder } from './helpers/imageFolders.ts';
import { pageHarness, screenshotWidths, skip } from './helpers/page.ts';

const h = pageHarness();
const SEED = 3;
/** A level of 8-bit pixel values: JPEG decoders may round a pixel a level or two apart, which moves means by less than this. */
const LEVEL = 1 / 255;
const scratch = mkdtempSync(join(tmpdir(), 'sgas-page-folders-'));
h.temp.push(scratch);
process.env.SGAS_CACHE_DIR = join(scratch, 'cache');
const root = (name: string) => join(scratch, name);
let wasm: WasmBackend | null = null;

before(async () => {
  if (skip) return;
  const samples = fashionSamples(12);
  await Promise.all([writePngFolder(root('png'), samples), writeJpegFolder(root('jpeg'), samples)]);
  const png = readFileSync(join(root('png'), FOLDER_CLASSES[0]!, '0.png'));
  copiesFolder(root('one-class'), png, ['cat'], 40);
  copiesFolder(root('empty-class'), png, ['cat', 'dog'], 20);
  // A directory input lists files only: the class folder holds no image, but a note.
  mkdirSync(join(root('empty-class'), 'emu'));
  writeFileSync(join(root('empty-class'), 'emu', 'notes.txt'), 'no emus yet');
  // Dropped, an empty class folder is seen as it is.
  mkdirSync(join(copiesFolder(root('empty-dropped'), png, ['cat', 'dog'], 20), 'emu'));
  copiesFolder(root('few'), png, ['cat', 'dog'], 10);
});
after(() => wasm?.destroy());

async function open(): Promise<Page> {
  // axe opens a page of its own in the page's context, which must be one made by newContext.
  const context = await h.browser.newContext({ viewport: { width: 1600, height: 1000 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => process.stderr.write(`page error: ${e.message}\n`));
  await page.goto(`${h.server.url}?backend=wasm`);
  assert.equal(await page.evaluate(() => window.sgas.ready), true);
  return page;
}

/** Drops a file or folder on the page, as a user's drag from the desktop does (Chromium's DevTools protocol). */
async function drop(page: Page, path: string): Promise<void> {
  const client = await page.context().newCDPSession(page);
  const data = { items: [], files: [path], dragOperationsMask: 1 };
  for (const type of ['dragEnter', 'dragOver', 'drop'] as const) await client.send('Input.dispatchDragEvent', { type, x: 800, y: 300, data });
  await client.detach();
}

/** Gives the page a folder through its directory input, or drops it; resolves with the data status once it is read or refused. */
async function give(page: Page, name: string, how: 'input' | 'drop' = 'input'): Promise<string> {
  // Blanked here, so the wait below cannot take the last folder's word for this one's.
  await page.locator('#data-status').evaluate((status) => (status.textContent = ''));
  await (how === 'input' ? page.setInputFiles('#folder-input', root(name)) : drop(page, root(name)));
  await page.waitForFunction((name) => {
    const status = document.getElementById('data-status')!.textContent!;
    return status.startsWith('Not used') || (status.startsWith(`${name}: `) && !status.endsWith('…'));
  }, name, { timeout: 30_000 });
  return (await page.textContent('#data-status'))!;
}

/** What the CLI's loader (sgas search's) gives of a folder: by default its whole training part, as the page's summary reads it. */
const cliLoad = (name: string, more: Partial<DiskFolderOptions> = {}) =>
  loadImageFolder(root(name), { resize: 'area', testPortion: 0.2, splitSeed: 0, parts: { train: 0 }, cache: true, ...more });

/** The skipped files as the page names them: from its folder's name on. */
const skippedFiles = async (name: string, more: Partial<DiskFolderOptions> = {}) => (await cliLoad(name, more)).skipped.map((s) => s.file.replace(`${scratch}/`, ''));

/** The refusal the CLI gives a folder, naming it as the page names it (by its own name). */
async function cliRefusal(name: string): Promise<string> {
  const error = await cliLoad(name).then(() => null, (e: Error) => e);
  assert.ok(error, `the CLI takes ${name}`);
  return error.message.replace(root(name), name);
}

/** What `sgas search --data` loads of a folder for the tiny preset at 8×8: its record and its training files in order. */
async function tinySearchData(name: string): Promise<{ info: DataInfo; files: readonly string[] }> {
  const train = (await cliLoad(name, { imageSize: 8, parts: { train: 32 } })).train!;
  return { info: dataInfoOf(train), files: train.files! };
}

test('a folder shows its classes, samples and skipped files; the folders the CLI refuses are refused with its messages', { skip }, async () => {
  const page = await open();
  assert.match((await give(page, 'png'))!, /^png: 49 images in 4 classes, 28×28\.$/);
  const cli = await cliLoad('png');
  const rows = await page.locator('#dataset-classes li').evaluateAll((items) => items.map((li) => ({
    name: li.querySelector('.class-name')!.textContent, counts: li.querySelector('.counts')!.textContent,
    samples: (li.querySelector('canvas') as HTMLCanvasElement).width / 28,
  })));
  assert.deepEqual(rows, FOLDER_CLASSES.map((name, k) => ({ name, counts: `${cli.counts.train[k]} training · ${cli.counts.test[k]} test`, samples: 8 })));
  assert.equal(await page.textContent('#dataset-line'), '49 images (40 training, 9 test) in 4 classes · 28×28 (area resize), 3 channels · split: stratified, 20% for testing, seed 0');
  assert.deepEqual(await page.locator('#dataset-notes li').allTextContents(), ['1 non-image file ignored (notes.txt)', "28×28: the images' own size"]);
  assert.deepEqual(await page.locator('#dataset-skipped code').allTextContents(), await skippedFiles('png'));
  assert.equal(await page.textContent('#settings-summary'), '11 epochs on 39 images at 28×28; 50% train the weights, the rest the alphas');
  await screenshotWidths(page, 'folder-summary');
  const { violations } = await new AxeBuilder({ page }).analyze();
  assert.deepEqual(violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => n.target).join(', ')}`), []);

  // Refused before any image is decoded, with the CLI's message naming the folder; png stays chosen.
  for (const [bad, how] of [['one-class', 'input'], ['empty-class', 'input'], ['empty-dropped', 'drop']] as const) {
    assert.equal(await give(page, bad, how), `Not used: ${await cliRefusal(bad)} (the search keeps the folder png)`);
    assert.equal(await page.textContent('#dataset-title'), 'Your images: png');
  }
  assert.equal(await page.getAttribute('#data-status', 'class'), 'small error');
  await drop(page, join(root('png'), 'notes.txt'));
  await page.waitForFunction(() => document.getElementById('data-status')!.textContent!.startsWith('Not used: drop one folder (holding a folder of images per class), not single files'));

  // Too few images for one batch (a dropped folder): the search fails before it builds anything, naming the folder.
  assert.match(await give(page, 'few', 'drop'), /^few: 20 images in 2 classes, 28×28\.$/);
  await assert.rejects(page.evaluate(() => window.sgas.runSearch({ preset: 'tiny' })),
    /few: 16 training images \(8 for the weights\) do not fill one batch of 16; add images or lower the batch size/);
  assert.match((await page.textContent('#status-text'))!, /^failed — few: 16 training images/);

  // A bad folder setting is named by its label and keeps a search from starting.
  await page.fill('#folder-test-portion', '1');
  await page.press('#folder-test-portion', 'Tab');
  assert.equal(await page.textContent('#data-status'), "Test portion: expected a number > 0 and < 1, got '1'");
  assert.equal(await page.getAttribute('#folder-test-portion', 'aria-invalid'), 'true');
  await page.click('#start');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'folder-test-portion');
  await page.context().close();
});

test('a tiny search on a folder records the CLI\'s data, resumes after a reload without the folder, and JPEG matches within a level', { skip }, async () => {
  const page = await open();
  await give(page, 'png');
  await page.fill('#folder-image-size', '8');
  await page.press('#folder-image-size', 'Tab');
  await page.waitForFunction(() => document.getElementById('data-status')!.textContent === 'png: 49 images in 4 classes, 8×8.');
  const interrupted = page.evaluate((seed) => window.sgas.runSearch({ preset: 'tiny', seed }), SEED).catch(() => 'reloaded');
  await page.waitForFunction(() => window.sgas.savedEpoch() >= 2, null, { timeout: 60_000 });
  await page.reload();
  assert.equal(await interrupted, 'reloaded');
  await page.waitForFunction(() => window.sgas?.state() === 'paused', null, { timeout: 30_000 });
  assert.equal(await page.textContent('#data-status'), 'png: 49 images in 4 classes, 8×8 (kept in this browser).');
  assert.equal(await page.textContent('#dataset-title'), 'Your images: png');
  const kept = (await page.evaluate(() => window.sgas.folder()))!;
  // 8-bit pixels of the training part's decodable images at 8×8: three planes each, one for the gray ones (n.png, n % 12 = 3).
  const trainFiles = (await cliLoad('png', { imageSize: 8 })).train!.files!;
  const gray = trainFiles.filter((f) => Number(/(\d+)\.png$/.exec(f)![1]) % 12 === 3).length;
  assert.equal(kept.keptBytes, (3 * (trainFiles.length - gray) + gray) * 64);
  await page.click('#resume-stored');
  await page.waitForFunction(() => window.sgas.state() === 'finished', null, { timeout: 60_000 });
  const report = (await page.evaluate(() => window.sgas.report()))!;

  const out = join(scratch, 'cli-search');
  wasm = await createWasmBackend();
  assert.equal(await searchCommand(['--preset', 'tiny', '--data', root('png'), '--image-size', '8', '--seed', String(SEED), '--out', out], async () => wasm!), 0);
  const cli = JSON.parse(readFileSync(join(out, 'genotype.json'), 'utf8'));
  assert.deepEqual(report.dataInfo, cli.dataInfo);
  assert.deepEqual(report.genotype, cli.genotype);
  assert.deepEqual(kept.files, (await tinySearchData('png')).files);

  // A new search on the folder as kept (no files since the reload) keeps it again with itself.
  void page.evaluate((seed) => window.sgas.runSearch({ preset: 'tiny', seed }), SEED + 1).catch(() => {});
  await page.waitForFunction(() => window.sgas.savedEpoch() >= 1, null, { timeout: 60_000 });
  assert.deepEqual((await page.evaluate(() => window.sgas.folder()))!.files, kept.files);
  await page.click('#discard');

  // JPEG: the browser's decoder against sharp's, on a folder with its own train/ and test/.
  assert.equal(await give(page, 'jpeg'), 'jpeg: 49 images in 4 classes, 8×8.');
  assert.deepEqual(await page.locator('#dataset-skipped code').allTextContents(), await skippedFiles('jpeg', { imageSize: 8 }));
  const want = await tinySearchData('jpeg');
  void page.evaluate((seed) => window.sgas.runSearch({ preset: 'tiny', seed }), SEED).catch(() => {});
  await page.waitForFunction(() => window.sgas.savedEpoch() >= 1, null, { timeout: 60_000 });
  const checkpoint = Buffer.from((await page.evaluate(() => window.sgas.checkpointBase64()))!, 'base64');
  const info = decodeCheckpoint<{ dataInfo: DataInfo }>(new Uint8Array(checkpoint), 'the page checkpoint').state.dataInfo;
  assert.deepEqual({ ...info, mean: [], std: [] }, { ...want.info, mean: [], std: [] });
  assertClose(info.mean, want.info.mean, 'JPEG mean', LEVEL, 0);
  assertClose(info.std, want.info.std, 'JPEG std', LEVEL, 0);
  assert.deepEqual((await page.evaluate(() => window.sgas.folder()))!.files, want.files);
  await page.click('#discard');
  await page.context().close();
});
