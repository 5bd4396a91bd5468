// `sgas export` end to end: a searched genotype trained on 1-channel 28×28 Fashion-MNIST, and the
// published Cri1_CIFAR_Best and DARTS_V2 briefly trained at 3-channel 32×32, exported to ONNX;
// ONNX Runtime's logits on 256 test images equal those of our inference API (the .sgas export) and
// of sgas eval's network within 1e-4, and the inference API's probabilities for image files equal
// sgas predict's. Then every kind of bad input ends in one line, leaving no file.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createWasmBackend, Tape, Tensor, type WasmBackend } from '../runtime/index.ts';
import { Rng } from '../runtime/rng.ts';
import { exportCommand } from '../src/cli/export.ts';
import sharp from 'sharp';
import { genotypeFlag } from '../src/cli/genotypeFlag.ts';
import { predictCommand } from '../src/cli/predict.ts';
import { searchCommand } from '../src/cli/search.ts';
import { CIFAR10_CLASSES } from '../src/data/cifar.ts';
import { CIFAR10_STATS, normalise, type Dataset } from '../src/data/dataset.ts';
import { loadDataset } from '../src/data/load.ts';
import { firstImages } from '../src/data/transforms.ts';
import { trainPresetConfig, type TrainConfig } from '../src/eval/config.ts';
import { dataForNetwork, networkFromCheckpoint, prepareTrainData, readTrainCheckpoint, Trainer } from '../src/eval/train.ts';
import { genotypeToPython, type Genotype } from '../src/search/genotype.ts';
import { genotypeByName } from '../src/search/genotypes.ts';
import { loadModel, type Model, type PixelImage } from '../src/infer/index.ts';
import { pngBytes, tinted } from './helpers/imageFolders.ts';
import { decodeOnnx, maxAbsDiff, runOnnx } from './helpers/onnx.ts';

const IMAGES = 256;
const dir = mkdtempSync(join(tmpdir(), 'sgas-export-'));
let backend: WasmBackend;

before(async () => {
  backend = await createWasmBackend();
});
after(() => {
  backend.destroy();
  rmSync(dir, { recursive: true, force: true });
});

/** What a command prints on stdout, kept off the test runner's; its stderr goes nowhere. */
async function stdoutOf(run: () => Promise<number>): Promise<string> {
  const [out, err] = [process.stdout.write, process.stderr.write];
  let text = '';
  process.stdout.write = ((chunk: string) => ((text += chunk), true)) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    assert.equal(await run(), 0);
  } finally {
    [process.stdout.write, process.stderr.write] = [out, err];
  }
  return text;
}

/** sgas export, its report line checked. */
async function exportSilently(args: string[]): Promise<void> {
  const text = await stdoutOf(() => exportCommand(args, async () => backend));
  assert.match(text, /^wrote .*: (ONNX opset 17|sgas model).*, output \[N, 10\] logits for /);
}

/** A short training run's checkpoint: a few steps, so weights and BatchNorm statistics are no longer the initial ones. */
async function trainedCheckpoint(genotype: Genotype, train: Dataset, test: Dataset, name: string): Promise<string> {
  const config: TrainConfig = {
    ...trainPresetConfig('cpu'), initChannels: 6, layers: 5, epochs: 1, batchSize: 16, maxImages: 64, maxTestImages: 16, seed: 3,
  };
  const trainer = new Trainer(backend, config, genotype, prepareTrainData(train, test, config));
  try {
    await trainer.runEpoch({});
    const path = join(dir, `${name}.bin`);
    writeFileSync(path, await trainer.checkpoint());
    return path;
  } finally {
    trainer.release();
  }
}

/** The test images as pixels in [0, 1], recovered exactly from the normalised bytes. */
function pixels01(data: Dataset, stats: { mean: readonly number[]; std: readonly number[] }): Float32Array {
  const plane = data.height * data.width;
  return data.images.map((x, i) => {
    const c = Math.floor(i / plane) % data.channels;
    return Math.round((x * stats.std[c]! + stats.mean[c]!) * 255) / 255;
  });
}

/** sgas eval's network (eval mode, running statistics) on the normalised test images. */
async function evalLogits(checkpoint: string, test: Dataset): Promise<Float32Array> {
  const trained = networkFromCheckpoint(backend, readTrainCheckpoint(new Uint8Array(readFileSync(checkpoint)), checkpoint), checkpoint);
  const { net } = trained;
  const images = dataForNetwork(trained, test, checkpoint);
  const tape = new Tape();
  try {
    return await tape.run(() => Tape.noGrad(() => net.forward(Tensor.from(backend, images.images, [images.n, images.channels, images.height, images.width])).logits)).read();
  } finally {
    tape.dispose();
    net.release();
  }
}

/**
 * PNG files of the test images' first pictures: one at the network's size, one colour and one RGBA
 * at other sizes (resized with the run's filter), one gray, as sgas predict and the API get them.
 */
async function imageFiles(test: Dataset, pixels: Float32Array, folder: string): Promise<string[]> {
  mkdirSync(folder, { recursive: true });
  const { channels: C, height: H, width: W } = test;
  const interleaved = (i: number) => Uint8Array.from({ length: H * W * C }, (_, k) => Math.round(pixels[(i * C + (k % C)) * H * W + Math.floor(k / C)]! * 255));
  const enlarged = (bytes: Uint8Array, channels: 3 | 4) => sharp(Buffer.from(bytes), { raw: { width: W, height: H, channels } }).resize(W + 12, H + 4).raw().toBuffer();
  const colour = C === 3 ? interleaved(0) : tinted(interleaved(0));
  const rgba = Uint8Array.from({ length: 4 * H * W }, (_, k) => (k % 4 === 3 ? 255 - (k & 255) : colour[3 * (k >> 2) + (k % 4)]!));
  const files: [string, Promise<Buffer>][] = [
    ['own-size.png', pngBytes(interleaved(1), C as 1 | 3, W, H)],
    ['colour.png', enlarged(colour, 3).then((b) => pngBytes(b, 3, W + 12, H + 4))],
    ['rgba.png', enlarged(rgba, 4).then((b) => pngBytes(b, 4, W + 12, H + 4))],
    ['gray.png', pngBytes(interleaved(2).filter((_, k) => k % C === 0), 1, W, H)],
  ];
  return Promise.all(files.map(async ([name, bytes]) => {
    writeFileSync(join(folder, name), await bytes);
    return join(folder, name);
  }));
}

/** The API's probabilities for image files (decoded here by sharp) against sgas predict's on the same files. */
async function predictVsApi(model: Model, checkpoint: string, files: string[]): Promise<number> {
  const lines = (await stdoutOf(() => predictCommand(['--checkpoint', checkpoint, '--json', ...files], async () => backend))).trim().split('\n');
  const printed = lines.map((line) => JSON.parse(line) as { file: string; probs: number[] });
  assert.deepEqual(printed.map((p) => p.file), files);
  const images = await Promise.all(files.map(async (file): Promise<PixelImage> => {
    // sharp hands a grayscale file out as RGB unless asked for one channel.
    const gray = (await sharp(file).metadata()).channels === 1;
    const { data, info } = await (gray ? sharp(file).toColourspace('b-w') : sharp(file)).raw().toBuffer({ resolveWithObject: true });
    return { data: new Uint8Array(data), width: info.width, height: info.height, channels: info.channels as 1 | 3 | 4 };
  }));
  assert.deepEqual(images.map((i) => i.channels).sort(), [1, 3, 4, model.input.channels].sort());
  const predicted = await model.predict(images);
  return maxAbsDiff(predicted.flatMap((p) => p.probs), printed.flatMap((p) => p.probs));
}

/** Exports both formats, then compares ONNX Runtime, the inference API, sgas predict and sgas eval's network on the same images. */
async function checkExport(checkpoint: string, test: Dataset, genotype: Genotype) {
  const { stats } = test;
  const onnxPath = join(dir, `${test.name}.onnx`);
  const sgasPath = join(dir, `${test.name}.sgas`);
  await exportSilently(['--checkpoint', checkpoint, '--format', 'onnx', '--out', onnxPath]);
  await exportSilently(['--checkpoint', checkpoint, '--format', 'sgas', '--out', sgasPath]);

  const { channels: C, height: H, width: W } = test;
  const input = pixels01(test, stats);
  const onnx = await runOnnx(new Uint8Array(readFileSync(onnxPath)), input, [IMAGES, C, H, W]);
  assert.deepEqual(onnx.dims, [IMAGES, 10]);

  const model = await loadModel(sgasPath, { backend });
  const images: PixelImage[] = Array.from({ length: IMAGES }, (_, i) => {
    // Interleaved, as an image holds its pixels; the API makes planes again.
    const data = new Float32Array(H * W * C);
    for (let p = 0; p < H * W; p++) for (let c = 0; c < C; c++) data[p * C + c] = input[(i * C + c) * H * W + p]!;
    return { data, width: W, height: H, channels: C as 1 | 3 };
  });
  const predicted = (await model.predict(images)).flatMap((p) => p.logits);
  const apiVsPredictCommand = await predictVsApi(model, checkpoint, await imageFiles(test, input, join(dir, `${test.name}-images`)));
  model.dispose();
  const evaluated = await evalLogits(checkpoint, test);

  const onnxVsPredict = maxAbsDiff(onnx.data, predicted);
  assert.ok(onnxVsPredict < 1e-4, `${test.name}: ONNX Runtime and predict differ by up to ${onnxVsPredict}`);
  const predictVsEval = maxAbsDiff(predicted, evaluated);
  assert.ok(predictVsEval < 1e-5, `${test.name}: predict and eval differ by up to ${predictVsEval}`);
  assert.ok(apiVsPredictCommand < 1e-6, `${test.name}: the API's and sgas predict's probabilities for the same files differ by up to ${apiVsPredictCommand}`);
  // Not a network that answers the same whatever it sees.
  assert.ok(maxAbsDiff(onnx.data.subarray(0, 10), onnx.data.subarray(10, 20)) > 1e-3);

  const proto = decodeOnnx(new Uint8Array(readFileSync(onnxPath)));
  assert.deepEqual(proto.opsetImport.map((o) => [o.domain, Number(o.version)]), [['', 17]]);
  const meta = Object.fromEntries(proto.metadataProps.map((p) => [p.key, p.value]));
  assert.equal(meta['genotype'], genotypeToPython(genotype));
  assert.equal(meta['image_size'], `${H}x${W}`);
  assert.deepEqual(JSON.parse(meta['mean']!), [...stats.mean]);
  assert.deepEqual(JSON.parse(meta['std']!), [...stats.std]);
  assert.equal(meta['resize'], test.resize);
  assert.equal(JSON.parse(meta['classes']!).length, 10);
  const graph = proto.graph ?? assert.fail('no graph');
  const dims = graph.input?.[0]?.type?.tensorType?.shape?.dim?.map((d) => d.dimParam || Number(d.dimValue));
  assert.deepEqual(dims, ['N', C, H, W]);
  assert.deepEqual((graph.node ?? []).slice(0, 2).map((n) => n.opType), ['Sub', 'Div'], 'normalisation first');
  assert.ok(!(graph.initializer ?? []).some((t) => t.name?.startsWith('auxiliary')), 'no auxiliary head');
  return { meta, onnxVsPredict, apiVsPredictCommand };
}

let searchDir = '';

test('a searched genotype trained on 1-channel 28×28 data: ONNX Runtime, predict and eval agree on 256 test images', async (t) => {
  searchDir = join(dir, 'search');
  await stdoutOf(() => searchCommand(['--preset', 'tiny', '--seed', '1', '--out', searchDir], async () => backend));
  const genotype = genotypeFlag(searchDir, 'export test');
  const test = firstImages(loadDataset(undefined, 'test'), IMAGES);
  const checkpoint = await trainedCheckpoint(genotype, loadDataset(undefined, 'train'), test, 'fashion');
  const { meta, onnxVsPredict, apiVsPredictCommand } = await checkExport(checkpoint, test, genotype);
  t.diagnostic(`max |ONNX Runtime − predict| over ${IMAGES}×10 logits: ${onnxVsPredict.toExponential(2)}; max |API − sgas predict| probabilities: ${apiVsPredictCommand.toExponential(2)}`);
  assert.deepEqual(JSON.parse(meta['classes']!).slice(0, 2), ['T-shirt/top', 'Trouser']);
});

/** CIFAR-10-shaped data: random pixels, normalised with CIFAR-10's statistics, recorded as an image folder resized by area. */
function cifarLike(n: number, seed: number, name: string): Dataset {
  const rng = new Rng(seed);
  const shape = { n, channels: 3, height: 32, width: 32 };
  const pixels = Uint8Array.from({ length: n * 3 * 32 * 32 }, () => rng.int(256));
  return {
    ...shape, images: normalise(pixels, shape, CIFAR10_STATS), labels: Uint16Array.from({ length: n }, () => rng.int(10)),
    classes: CIFAR10_CLASSES, stats: CIFAR10_STATS, resize: 'area', split: null, name,
  };
}

for (const name of ['Cri1_CIFAR_Best', 'DARTS_V2']) {
  test(`${name} at 3-channel 32×32: ONNX Runtime, predict and eval agree on 256 images`, async (t) => {
    const genotype = genotypeByName(name);
    const checkpoint = await trainedCheckpoint(genotype, cifarLike(64, 1, 'cifar-like-train'), cifarLike(IMAGES, 2, `cifar-like-${name}`), name);
    const { meta, onnxVsPredict, apiVsPredictCommand } = await checkExport(checkpoint, cifarLike(IMAGES, 2, `cifar-like-${name}`), genotype);
    t.diagnostic(`max |ONNX Runtime − predict| over ${IMAGES}×10 logits: ${onnxVsPredict.toExponential(2)}; max |API − sgas predict| probabilities: ${apiVsPredictCommand.toExponential(2)}`);
    assert.deepEqual(JSON.parse(meta['classes']!).slice(0, 2), ['airplane', 'automobile']);
  });
}

test('bad input ends in one line and leaves no file: search checkpoint, damaged checkpoint, unknown format, unwritable --out', async () => {
  const trained = join(dir, 'fashion.bin');
  const out = join(dir, 'bad');
  // Bad flags and bad checkpoints fail before a backend is opened; only writing needs the network built.
  const rejects = async (args: string[], pattern: RegExp, needsBackend = false) => {
    const open = async () => (needsBackend ? backend : assert.fail('the backend must not be opened'));
    await assert.rejects(exportCommand(args, open), (e: Error) => {
      assert.match(e.message, pattern);
      assert.ok(!e.message.includes('\n'), `one line: ${e.message}`);
      return true;
    });
  };
  await rejects(['--checkpoint', join(searchDir, 'checkpoint.bin'), '--out', join(out, 'm.onnx')], /a search checkpoint holds no trained network; train its genotype first \(sgas train --genotype/);
  const damaged = join(dir, 'damaged.bin');
  writeFileSync(damaged, readFileSync(trained).subarray(0, 5000));
  await rejects(['--checkpoint', damaged, '--out', join(out, 'm.onnx')], /damaged\.bin is damaged: truncated.*no damaged\.prev\.bin beside it/);
  writeFileSync(join(dir, 'text.bin'), 'not a checkpoint');
  await rejects(['--checkpoint', join(dir, 'text.bin'), '--out', join(out, 'm.onnx')], /does not start as an sgas checkpoint does/);
  await rejects(['--checkpoint', trained, '--format', 'tflite', '--out', join(out, 'm.onnx')], /--format tflite: unknown format \(formats: onnx, sgas\)/);
  await rejects(['--checkpoint', join(dir, 'missing.bin')], /no such file/);
  // A path below a regular file cannot be created, even by root.
  await rejects(['--checkpoint', trained, '--out', join(trained, 'm.onnx')], /cannot write .*fashion\.bin\/m\.onnx: a part of the path is a file, not a folder \(ENOTDIR\); choose a writable --out$/, true);
  await rejects(['--checkpoint', trained, '--out', dir], /is a folder/);
  assert.equal(existsSync(out), false);
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);

  // A run folder whose checkpoint.bin is damaged exports the checkpoint.prev.bin beside it, as eval and predict read it.
  const run = join(dir, 'run');
  mkdirSync(run);
  writeFileSync(join(run, 'checkpoint.bin'), readFileSync(trained).subarray(0, 5000));
  copyFileSync(trained, join(run, 'checkpoint.prev.bin'));
  await exportSilently(['--checkpoint', join(run, 'checkpoint.bin'), '--format', 'sgas']);
  assert.deepEqual(readdirSync(run).sort(), ['checkpoint.bin', 'checkpoint.prev.bin', 'model.sgas']);
});
