// The inference API (sgas-webgpu/infer) in Node: every pixel form a caller holds gives the same
// answer for the same picture, other sizes are resized with the record's filter, channels are
// converted, WebGPU and WebAssembly agree, and bad images or files fail with one line. (That its
// answers are sgas predict's, image file for image file, export.test.ts checks.)
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createWasmBackend, type WasmBackend } from '../runtime/index.ts';
import { Rng } from '../runtime/rng.ts';
import { loadDataset } from '../src/data/load.ts';
import { decodeCheckpoint, encodeCheckpoint } from '../src/search/checkpoint.ts';
import { loadModel, type Model, type PixelImage } from '../src/infer/index.ts';
import { assertClose } from './helpers/gpu.ts';
import { FASHION, modelFile, RGB32 } from './helpers/model.ts';

let backend: WasmBackend;
let gray: Model;
let rgb: Model;

before(async () => {
  backend = await createWasmBackend({ threads: 1 });
  gray = await loadModel(await modelFile(backend, FASHION), { backend });
  rgb = await loadModel(await modelFile(backend, RGB32, 2), { backend });
});
after(() => {
  gray.dispose();
  rgb.dispose();
  backend.destroy();
});

/** The first embedded test images as 28×28 gray bytes. */
function fashionBytes(count: number): Uint8Array[] {
  const test = loadDataset(undefined, 'test');
  return Array.from({ length: count }, (_, i) =>
    Uint8Array.from(test.images.subarray(i * 784, (i + 1) * 784), (x) => Math.round((x * 0.353 + 0.286) * 255)));
}

const randomBytes = (n: number, seed: number) => {
  const rng = new Rng(seed);
  return Uint8Array.from({ length: n }, () => rng.int(256));
};

test('gray bytes, floats in [0, 1], RGBA and ImageData-shaped pixels of one picture get one answer', async () => {
  const [bytes] = fashionBytes(1) as [Uint8Array];
  const rgba = new Uint8ClampedArray(784 * 4);
  bytes.forEach((v, p) => rgba.set([v, v, v, 255], 4 * p));
  const forms: PixelImage[] = [
    { data: bytes, width: 28, height: 28, channels: 1 },
    { data: Float32Array.from(bytes, (v) => v / 255), width: 28, height: 28, channels: 1 },
    { data: rgba, width: 28, height: 28, channels: 4 },
  ];
  const [first, ...rest] = await gray.predict([...forms, { data: rgba, width: 28, height: 28 } as PixelImage]);
  for (const other of rest) assertClose(other.logits, first!.logits, 'logits', 1e-6, 1e-6);
  assert.ok(Math.abs(first!.probs.reduce((a, b) => a + b, 0) - 1) < 1e-9);
  assert.equal(first!.top.length, 3);
  const top5 = (await gray.predict({ data: bytes, width: 28, height: 28, channels: 1 }, { topK: 5 })).top;
  assert.deepEqual(top5.map((t) => t.className), [...FASHION.classes.keys()]
    .sort((a, b) => first!.probs[b]! - first!.probs[a]! || a - b).slice(0, 5).map((k) => FASHION.classes[k]));
  assert.deepEqual(gray.classes, FASHION.classes);
  assert.match(gray.genotype, /^Genotype\(normal=\[\('sep_conv_3x3', 0\)/);
});

test('an image of another size is resized with the record\'s filter: twice the size, each pixel 2×2, is the same picture', async () => {
  // Halving averages each 2×2 block under both filters (area: the block's mean; bilinear, align_corners=False: the
  // taps at 2o and 2o + 1, half each), so a picture and its pixel-doubled copy are one input.
  for (const [model, channels, size] of [[gray, 1, 28], [rgb, 3, 32]] as const) {
    const pixels = randomBytes(channels * size * size, 5);
    const doubled = new Uint8Array(4 * pixels.length);
    for (let y = 0; y < 2 * size; y++) {
      for (let x = 0; x < 2 * size; x++) {
        for (let c = 0; c < channels; c++) doubled[(y * 2 * size + x) * channels + c] = pixels[((y >> 1) * size + (x >> 1)) * channels + c]!;
      }
    }
    const [small, large, other] = await model.predict([
      { data: pixels, width: size, height: size, channels }, { data: doubled, width: 2 * size, height: 2 * size, channels },
      { data: randomBytes(channels * 40 * 24, 6), width: 40, height: 24, channels },
    ]);
    assert.deepEqual(large!.logits, small!.logits, `${model.input.resize}: the doubled picture`);
    assert.notDeepEqual(other!.logits, small!.logits);
  }
});

test('color to a gray network goes through luma, gray to a color network fills every channel', async () => {
  const rgbPixels = randomBytes(3 * 784, 7);
  // DataInfo's step for a 1-channel network: luma, rounded to 8 bits.
  const luma = Uint8Array.from({ length: 784 }, (_, p) => Math.round(0.299 * rgbPixels[3 * p]! + 0.587 * rgbPixels[3 * p + 1]! + 0.114 * rgbPixels[3 * p + 2]!));
  const [fromColor, fromLuma] = await gray.predict([
    { data: rgbPixels, width: 28, height: 28, channels: 3 }, { data: luma, width: 28, height: 28, channels: 1 },
  ]);
  assertClose(fromColor!.logits, fromLuma!.logits, 'luma', 1e-6, 1e-6);

  const grayPixels = randomBytes(1024, 8);
  const [fromGray, fromTriple] = await rgb.predict([
    { data: grayPixels, width: 32, height: 32, channels: 1 },
    { data: Uint8Array.from({ length: 3 * 1024 }, (_, i) => grayPixels[Math.floor(i / 3)]!), width: 32, height: 32, channels: 3 },
  ]);
  assertClose(fromGray!.logits, fromTriple!.logits, 'replicated gray', 1e-6, 1e-6);
});

test('a Node Buffer (a view into a shared pool) loads as its bytes', async () => {
  const bytes = await modelFile(backend, FASHION);
  const pooled = Buffer.concat([Buffer.alloc(13, 7), Buffer.from(bytes)]).subarray(13);
  const model = await loadModel(pooled, { backend });
  try {
    const image = { data: new Uint8Array(784).fill(90), width: 28, height: 28, channels: 1 as const };
    assert.deepEqual((await model.predict(image)).logits, (await gray.predict(image)).logits);
  } finally {
    model.dispose();
  }
});

test('WebGPU and WebAssembly kernels give the same probabilities', async () => {
  const images = fashionBytes(4).map((data): PixelImage => ({ data, width: 28, height: 28, channels: 1 }));
  const bytes = await modelFile(backend, FASHION);
  const onGpu = await loadModel(bytes, { backend: 'webgpu' });
  try {
    assert.equal(onGpu.backend.name, 'webgpu');
    const [a, b] = [await onGpu.predict(images), await gray.predict(images)];
    assertClose(a.flatMap((p) => p.probs), b.flatMap((p) => p.probs), 'probabilities', 1e-5, 1e-4);
  } finally {
    onGpu.dispose();
  }
});

test('bad images, options and files fail with one line naming the problem', async () => {
  const oneLine = (pattern: RegExp) => (e: Error) => {
    assert.match(e.message, pattern);
    assert.ok(!e.message.includes('\n'), e.message);
    return true;
  };
  await assert.rejects(gray.predict({ data: new Uint8Array(10), width: 28, height: 28, channels: 1 }), oneLine(/28×28×1 needs 784 values, got 10/));
  await assert.rejects(gray.predict({ data: new Uint8Array(8), width: 2, height: 2, channels: 2 as 1 }), oneLine(/2 channels; give 1 \(gray\), 3 \(RGB\) or 4 \(RGBA\)/));
  await assert.rejects(gray.predict({ data: new Uint8Array(0), width: 0, height: 0, channels: 1 }), oneLine(/must be positive integers/));
  await assert.rejects(gray.predict({} as PixelImage), oneLine(/cannot draw images \(no OffscreenCanvas\)/));
  await assert.rejects(gray.predict({ data: new Float32Array(784).fill(255), width: 28, height: 28, channels: 1 }), oneLine(/float pixels must lie in \[0, 1\], but value 0 is 255/));
  await assert.rejects(gray.predict({ data: new Uint8Array(784), width: 28, height: 28, channels: 1 }, { topK: 0 }), oneLine(/topK must be a positive integer/));
  await assert.rejects(loadModel(new Uint8Array([1, 2, 3]), { backend }), oneLine(/model bytes is damaged: .*does not start as an sgas checkpoint/));
  await assert.rejects(loadModel('/nonexistent/model.sgas', { backend }), oneLine(/cannot read \/nonexistent\/model\.sgas \(ENOENT\)/));
  await assert.rejects(loadModel(encodeCheckpoint({ format: 'sgas-train-v1' }, new Map()), { backend }),
    oneLine(/not a model file \(format sgas-train-v1\); sgas export --format sgas --checkpoint <a training checkpoint> writes one/));
  const bytes = await modelFile(backend, FASHION);
  await assert.rejects(loadModel(bytes.subarray(0, 3000), { backend }), oneLine(/truncated/));
  const { state, tensors } = decodeCheckpoint<{ dataInfo: object }>(bytes, 'model');
  for (const [change, pattern] of [
    [{ resize: 'nearest' }, /its data record has resize 'nearest', not one of area, bilinear; export the model again/],
    [{ std: [0] }, /its data record has a std that is not positive/],
    [{ mean: [0.1, 0.2] }, /its data record needs one mean and one std per channel/],
    [{ imageSize: [28] }, /its data record has no image size/],
  ] as const) {
    const edited = encodeCheckpoint({ ...state, dataInfo: { ...state.dataInfo, ...change } }, tensors);
    await assert.rejects(loadModel(edited, { backend }), oneLine(pattern));
  }
});
