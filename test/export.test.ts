// `sgas export` end to end: a searched genotype trained on 1-channel 28×28 Fashion-MNIST, and the
// published Cri1_CIFAR_Best and DARTS_V2 briefly trained at 3-channel 32×32, exported to ONNX;
// ONNX Runtime's logits on 256 test images equal those of our inference API (the .sgas export) and
// of sgas eval's network within 1e-4. Then every kind of bad input ends in one line, leaving no file.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createWasmBackend, Tape, Tensor, type WasmBackend } from '../runtime/index.ts';
import { Rng } from '../runtime/rng.ts';
import { exportCommand } from '../src/cli/export.ts';
import { genotypeFlag } from '../src/cli/genotypeFlag.ts';
import { searchCommand } from '../src/cli/search.ts';
import { CIFAR10_CLASSES } from '../src/data/cifar.ts';
import { CIFAR10_STATS, normalise, type Dataset } from '../src/data/dataset.ts';
import { loadDataset } from '../src/data/load.ts';
import { firstImages } from '../src/data/transforms.ts';
import { trainPresetConfig, type TrainConfig } from '../src/eval/config.ts';
import { dataForNetwork, networkFromCheckpoint, prepareTrainData, readTrainCheckpoint, Trainer } from '../src/eval/train.ts';
import { genotypeToPython, type Genotype } from '../src/search/genotype.ts';
import { genotypeByName } from '../src/search/genotypes.ts';
import { loadModel, type PixelImage } from '../src/infer/index.ts';
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

/** Exports both formats, then compares ONNX Runtime, the inference API and sgas eval's network on the same images. */
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
  model.dispose();
  const evaluated = await evalLogits(checkpoint, test);

  const onnxVsPredict = maxAbsDiff(onnx.data, predicted);
  assert.ok(onnxVsPredict < 1e-4, `${test.name}: ONNX Runtime and predict differ by up to ${onnxVsPredict}`);
  const predictVsEval = maxAbsDiff(predicted, evaluated);
  assert.ok(predictVsEval < 1e-5, `${test.name}: predict and eval differ by up to ${predictVsEval}`);
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
  return { meta, onnxVsPredict };
}

let searchDir = '';

test('a searched genotype trained on 1-channel 28×28 data: ONNX Runtime, predict and eval agree on 256 test images', async (t) => {
  searchDir = join(dir, 'search');
  await stdoutOf(() => searchCommand(['--preset', 'tiny', '--seed', '1', '--out', searchDir], async () => backend));
  const genotype = genotypeFlag(searchDir, 'export test');
  const test = firstImages(loadDataset(undefined, 'test'), IMAGES);
  const checkpoint = await trainedCheckpoint(genotype, loadDataset(undefined, 'train'), test, 'fashion');
  const { meta, onnxVsPredict } = await checkExport(checkpoint, test, genotype);
  t.diagnostic(`max |ONNX Runtime − predict| over ${IMAGES}×10 logits: ${onnxVsPredict.toExponential(2)}`);
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
    const { meta, onnxVsPredict } = await checkExport(checkpoint, cifarLike(IMAGES, 2, `cifar-like-${name}`), genotype);
    t.diagnostic(`max |ONNX Runtime − predict| over ${IMAGES}×10 logits: ${onnxVsPredict.toExponential(2)}`);
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
