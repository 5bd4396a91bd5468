// Your own images end to end, on the WebAssembly backend: a tiny search on a JPEG folder, a
// one-epoch training on a PNG folder, eval and predict on its checkpoint, and the refusals that
// come before any work.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { createWasmBackend, type WasmBackend } from '../runtime/index.ts';
import { evalCommand } from '../src/cli/eval.ts';
import { predictCommand } from '../src/cli/predict.ts';
import { searchCommand } from '../src/cli/search.ts';
import { trainCommand } from '../src/cli/train.ts';
import type { DataInfo } from '../src/data/dataInfo.ts';
import { ImageCache } from '../src/data/imageCache.ts';
import { decodeCheckpoint } from '../src/search/checkpoint.ts';
import { rowSoftmax } from '../src/search/edgeDecision.ts';
import { assertClose } from './helpers/gpu.ts';
import { copiesFolder, fashionSamples, FOLDER_CLASSES, writeJpegFolder, writePngFolder } from './helpers/imageFolders.ts';

const scratch = mkdtempSync(join(tmpdir(), 'sgas-own-images-'));
process.env.SGAS_CACHE_DIR = join(scratch, 'cache');
const pngRoot = join(scratch, 'png');
const jpegRoot = join(scratch, 'jpeg');
let wasm: WasmBackend | null = null;
const backend = async () => (wasm ??= await createWasmBackend());
before(async () => {
  const samples = fashionSamples(12);
  await Promise.all([writePngFolder(pngRoot, samples), writeJpegFolder(jpegRoot, samples)]);
});
after(() => {
  wasm?.destroy();
  rmSync(scratch, { recursive: true, force: true });
});

const noGpu = async () => {
  throw new Error('the backend must not be started before the flags and data are checked');
};

/** A command's exit status and what it printed on stdout. */
async function run(command: Promise<number> | (() => Promise<number>)): Promise<{ code: number; out: string }> {
  const write = process.stdout.write;
  let out = '';
  process.stdout.write = ((chunk: string) => ((out += chunk), true)) as typeof process.stdout.write;
  try {
    const code = await (typeof command === 'function' ? command() : command);
    return { code, out };
  } finally {
    process.stdout.write = write;
  }
}

const json = (path: string) => JSON.parse(readFileSync(path, 'utf8'));
const checkpointInfo = (path: string) => decodeCheckpoint<{ dataInfo: DataInfo }>(new Uint8Array(readFileSync(path)), path).state.dataInfo;

const smallFolder = (name: string, classes: string[], images: number) =>
  copiesFolder(join(scratch, name), readFileSync(join(pngRoot, FOLDER_CLASSES[0]!, '0.png')), classes, images);

test('bad folders and flags fail before any work, naming the folder', async () => {
  const out = join(scratch, 'never');
  const search = (...args: string[]) => searchCommand(['--preset', 'tiny', '--out', out, ...args], noGpu);
  const one = smallFolder('one-class', ['cat'], 40);
  await assert.rejects(search('--data', one), (e: Error) => e.message.startsWith(`${one}: one class folder (cat) found, a classifier needs at least 2;`));
  const empty = smallFolder('empty-class', ['cat', 'dog'], 20);
  mkdirSync(join(empty, 'emu'));
  await assert.rejects(search('--data', empty), (e: Error) => e.message.startsWith(`${empty}/emu: holds no PNG or JPEG image;`));
  const few = smallFolder('few', ['cat', 'dog'], 10);
  await assert.rejects(search('--data', few), (e: Error) => e.message === `${few}: 16 training images (8 for the weights) do not fill one batch of 16; add images or lower --batch-size`);
  await assert.rejects(trainCommand(['--genotype', 'Cri1_CIFAR_Best', '--data', few, '--out', out], noGpu), (e: Error) => e.message.startsWith(`${few}: 16 training images do not fill one batch of 64`));
  await assert.rejects(search('--test-portion', '0.3'), /--test-portion: for image folders only; the embedded data holds fashion-mnist files/);
  await assert.rejects(search('--data', pngRoot, '--resize', 'cubic'), /--resize cubic: expected area or bilinear/);
  await assert.rejects(search('--data', pngRoot, '--test-portion', '1'), /--test-portion 1: expected a number > 0 and < 1/);
});

test('a tiny search on a JPEG folder, a one-epoch training on a PNG folder, then eval and predict agree', async () => {
  const searchOut = join(scratch, 'search');
  assert.equal(await searchCommand(['--preset', 'tiny', '--data', jpegRoot, '--image-size', '8', '--seed', '3', '--out', searchOut], backend), 0);
  const report = json(join(searchOut, 'genotype.json'));
  assert.deepEqual({ ...report.dataInfo, mean: report.dataInfo.mean.length, std: report.dataInfo.std.length },
    { classes: FOLDER_CLASSES, channels: 1, imageSize: [8, 8], mean: 1, std: 1, resize: 'area', split: { testPortion: null, seed: 0 } });
  assert.deepEqual(checkpointInfo(join(searchOut, 'checkpoint.bin')), report.dataInfo);
  const searchRun = json(join(searchOut, 'run.json'));
  assert.deepEqual(searchRun.dataInfo, report.dataInfo);
  assert.deepEqual(searchRun.skipped.map((s: { file: string }) => s.file), [join(jpegRoot, 'train', FOLDER_CLASSES[1]!, 'cut.jpg')]);
  // The search decoded training images only: its weights and alphas never saw the test part.
  const decoded = [...ImageCache.knownDimensions(jpegRoot).keys()];
  assert.ok(decoded.length >= 32 && decoded.every((path) => path.startsWith('train/')), decoded.join());

  const trainOut = join(scratch, 'train');
  const tiny = ['--init-channels', '2', '--layers', '3', '--batch-size', '16', '--epochs', '1', '--cutout-length', '3', '--image-size', '8'];
  assert.equal(await trainCommand(['--genotype', searchOut, '--data', pngRoot, ...tiny, '--out', trainOut], backend), 0);
  const checkpoint = join(trainOut, 'checkpoint.bin');
  const info = checkpointInfo(checkpoint);
  assert.deepEqual([info.classes, info.channels, info.imageSize, info.split], [FOLDER_CLASSES, 3, [8, 8], { testPortion: 0.2, seed: 0 }]);
  assert.ok(info.mean.every((m) => m > 0 && m < 1) && info.std.every((s) => s > 0 && s < 1));
  assert.deepEqual(json(join(trainOut, 'run.json')).dataInfo, info);

  // eval's logits on the folder's test part, and predict's probabilities on the same files.
  const evaluated = await run(evalCommand(['--checkpoint', checkpoint, '--json'], backend));
  const lines = evaluated.out.trim().split('\n').map((l) => JSON.parse(l));
  const summary = lines.pop();
  assert.equal(summary.images, 9);
  assert.equal(lines.length, 9);
  const predicted = await run(predictCommand(['--checkpoint', checkpoint, '--json', ...lines.map((l) => l.file)], backend));
  assert.equal(predicted.code, 0);
  const predictions = predicted.out.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(predictions.map((p) => resolve(p.file)), lines.map((l) => resolve(l.file)));
  predictions.forEach((p, i) => {
    assertClose(p.probs, rowSoftmax([lines[i].logits])[0]!, `probabilities of ${p.file}`, 1e-6, 1e-5);
    assert.equal(p.top.length, 3);
    assert.deepEqual(p.top[0], [FOLDER_CLASSES[p.probs.indexOf(Math.max(...p.probs))], Math.max(...p.probs)]);
  });
  const correct = lines.filter((l) => FOLDER_CLASSES[l.logits.indexOf(Math.max(...l.logits))] === l.label).length;
  assert.equal(summary.accuracy, correct / 9);

  // Plain output, a labelled folder, a corrupt file in it, and a search checkpoint.
  const labelled = await run(predictCommand(['--checkpoint', checkpoint, pngRoot], backend));
  assert.equal(labelled.code, 1, 'a skipped image makes the exit status 1');
  assert.equal(labelled.out.trim().split('\n').length, 48);
  assert.match(labelled.out, new RegExp(`^${pngRoot}/dress/0\\.png  (\\S+ \\d+\\.\\d%  ){2}\\S+ \\d+\\.\\d%  \\(label dress\\)$`, 'm'));
  await assert.rejects(predictCommand(['--checkpoint', join(searchOut, 'checkpoint.bin'), pngRoot], noGpu), /a search checkpoint holds no trained network; train its genotype first/);
  const cats = smallFolder('cats-and-dogs', ['cat', 'dog'], 20);
  await assert.rejects(evalCommand(['--checkpoint', checkpoint, '--data', cats], noGpu),
    (e: Error) => e.message.startsWith(`${cats}: its classes [cat, dog] differ from the classes [${FOLDER_CLASSES.join(', ')}] of the checkpoint;`));
  const mixed = smallFolder('mixed', ['dress', 'cat'], 1);
  await assert.rejects(predictCommand(['--checkpoint', checkpoint, mixed], noGpu), /its class folders \[cat, dress\] are not all among the checkpoint's classes/);
});
