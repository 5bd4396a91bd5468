// Image folders without a GPU: resampling, the image preparation, the layout rules and the split,
// then loading PNG and JPEG folders written from the embedded Fashion-MNIST, with the cache.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { channelStats } from '../src/data/dataset.ts';
import { loadImageFolder, type DiskFolderOptions } from '../src/data/folderLoad.ts';
import { imagePlanes, prepareImage, type RawImage } from '../src/data/image.ts';
import { defaultImageSize, folderLayout, stratifiedSplit } from '../src/data/imageFolder.ts';
import { resample } from '../src/data/resample.ts';
import { assertClose } from './helpers/gpu.ts';
import { fashionSamples, FOLDER_CLASSES, tinted, writeJpegFolder, writePngFolder } from './helpers/imageFolders.ts';

const scratch = mkdtempSync(join(tmpdir(), 'sgas-folders-'));
process.env.SGAS_CACHE_DIR = join(scratch, 'cache');
after(() => rmSync(scratch, { recursive: true, force: true }));

const plane = (h: number, w: number, at: (y: number, x: number) => number) => Float64Array.from({ length: h * w }, (_, i) => at(Math.floor(i / w), i % w));
const one = (h: number, w: number) => ({ planes: 1, height: h, width: w, planeStride: h * w, pixelStride: 1 });

test('area resize is the mean over the source area each output pixel covers', () => {
  const src = plane(4, 6, (y, x) => 10 * y + x);
  // 4×6 to 2×3: means of 2×2 blocks.
  assert.deepEqual([...resample(src, one(4, 6), 2, 3, 'area')], [5.5, 7.5, 9.5, 25.5, 27.5, 29.5]);
  // 3 to 2 along x: outputs cover [0, 1.5) and [1.5, 3): weights 2/3, 1/3 and 1/3, 2/3.
  assertClose(resample([0, 3, 6], one(1, 3), 1, 2, 'area'), [1, 5], '3 to 2');
  // Enlarging 2 to 4 repeats each pixel.
  assert.deepEqual([...resample([1, 2], one(1, 2), 1, 4, 'area')], [1, 1, 2, 2]);
});

test("bilinear resize follows PyTorch's align_corners=False, clamped at the borders", () => {
  const src = plane(5, 7, (y, x) => Math.sin(y * 7 + x));
  const axis = (inSize: number, outSize: number, o: number) => {
    const s = Math.max(0, ((o + 0.5) * inSize) / outSize - 0.5);
    const lo = Math.min(Math.floor(s), inSize - 1);
    return { lo, hi: Math.min(lo + 1, inSize - 1), t: s - lo };
  };
  for (const [h, w] of [[3, 4], [9, 11]]) {
    const want = plane(h, w, (oy, ox) => {
      const y = axis(5, h, oy);
      const x = axis(7, w, ox);
      const at = (yy: number, xx: number) => src[yy * 7 + xx]!;
      return (at(y.lo, x.lo) * (1 - x.t) + at(y.lo, x.hi) * x.t) * (1 - y.t) + (at(y.hi, x.lo) * (1 - x.t) + at(y.hi, x.hi) * x.t) * y.t;
    });
    assertClose(resample(src, one(5, 7), h, w, 'bilinear'), want, `5×7 to ${h}×${w}`, 1e-12, 1e-12);
  }
});

const raw = (channels: 3 | 4, pixel: (i: number) => number[]): RawImage => ({
  data: Uint8Array.from(Array.from({ length: 16 }, (_, i) => pixel(i)).flat()),
  width: 4, height: 4, channels,
});

test('an image drops its alpha, is grayscale when R = G = B everywhere, and meets the network in 1 or 3 channels', () => {
  const colour = prepareImage(raw(4, (i) => [i, 2 * i, 3 * i, 255 - i]), [4, 4], 'area');
  assert.equal(colour.gray, false);
  assert.deepEqual([...colour.pixels], [...Array.from({ length: 16 }, (_, i) => i), ...Array.from({ length: 16 }, (_, i) => 2 * i), ...Array.from({ length: 16 }, (_, i) => 3 * i)]);
  assert.deepEqual(prepareImage(raw(3, (i) => [i, 2 * i, 3 * i]), [4, 4], 'area'), colour);
  const gray = prepareImage(raw(4, (i) => [i, i, i, 0]), [2, 2], 'area');
  assert.equal(gray.gray, true);
  // 2×2 block means 2.5, 4.5, 10.5, 12.5, rounded.
  assert.deepEqual([...gray.pixels], [3, 5, 11, 13]);
  assert.deepEqual([...imagePlanes(gray, 3)], [...gray.pixels, ...gray.pixels, ...gray.pixels]);
  assert.deepEqual([...imagePlanes(colour, 1)].slice(0, 3), [0, Math.round(0.299 + 0.587 * 2 + 0.114 * 3), Math.round(2 * (0.299 + 0.587 * 2 + 0.114 * 3))]);
});

test('per-channel statistics are the mean and std of the pixels scaled to [0, 1]', () => {
  const pixels = Uint8Array.from({ length: 2 * 2 * 9 }, (_, i) => (i * 37) % 256);
  const stats = channelStats(pixels, { n: 2, channels: 2, height: 3, width: 3 });
  for (let c = 0; c < 2; c++) {
    const values = [0, 1].flatMap((n) => Array.from(pixels.subarray((n * 2 + c) * 9, (n * 2 + c + 1) * 9), (v) => v / 255));
    const mean = values.reduce((a, b) => a + b) / values.length;
    assertClose([stats.mean[c]!, stats.std[c]!], [mean, Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length)], `channel ${c}`, 1e-12, 1e-12);
  }
});

test('a folder layout: sorted class folders, hidden and non-image files left out, train/ with test/ or val/', () => {
  const flat = folderLayout('d', ['b/', 'b/2.png', 'b/1.JPG', 'a/', 'a/x/deep.jpeg', 'a/.DS_Store', '.git/', '.git/HEAD', 'a/._1.png', 'README.md', '__MACOSX/', '__MACOSX/a/1.png']);
  assert.deepEqual(flat.classes, ['a', 'b']);
  assert.deepEqual(flat.train, [{ path: 'a/x/deep.jpeg', label: 0 }, { path: 'b/1.JPG', label: 1 }, { path: 'b/2.png', label: 1 }]);
  assert.equal(flat.test, null);
  assert.deepEqual(flat.ignored, ['README.md']);
  const split = folderLayout('d', ['train/cat/1.png', 'train/dog/1.png', 'val/dog/2.png', 'val/cat/3.png', 'extra/']);
  assert.deepEqual(split.classes, ['cat', 'dog']);
  assert.deepEqual(split.test, [{ path: 'val/cat/3.png', label: 0 }, { path: 'val/dog/2.png', label: 1 }]);
  assert.match(split.notes.join(), /extra\/ left out/);
  const fails: [string[], RegExp][] = [
    [['cat/1.png'], /d: one class folder \(cat\) found, a classifier needs at least 2; /],
    [['notes.txt'], /d: no class folders found/],
    [['cat/1.png', 'dog/'], /d\/dog: holds no PNG or JPEG image; add images to this class or remove its folder$/],
    [['cat/1.png', 'dog/1.png', 'stray.png'], /d: 1 image lies outside class folders \(stray\.png\)/],
    [['train/cat/1.png', 'train/dog/1.png', 'test/cow/1.png'], /d\/test: its classes \[cow\] differ from train\/'s \[cat, dog\]/],
  ];
  for (const [entries, message] of fails) assert.throws(() => folderLayout('d', entries), message);
});

test('the stratified split takes each class its share, the same for the same seed, and mixes the parts', () => {
  const files = Array.from({ length: 100 }, (_, i) => ({ path: `${i < 70 ? 'a' : 'b'}/${i}.png`, label: i < 70 ? 0 : 1 }));
  const first = stratifiedSplit(files, 2, { testPortion: 0.2, seed: 5 });
  assert.deepEqual(stratifiedSplit(files, 2, { testPortion: 0.2, seed: 5 }), first);
  assert.notDeepEqual(stratifiedSplit(files, 2, { testPortion: 0.2, seed: 6 }).test, first.test);
  assert.deepEqual([0, 1].map((c) => first.test.filter((f) => f.label === c).length), [14, 6]);
  assert.deepEqual([...first.train, ...first.test].map((f) => f.path).sort(), files.map((f) => f.path).sort());
  assert.ok(first.train.slice(0, 10).some((f) => f.label === 1), 'the first images are not all of the first class');
  // A class of two keeps one image on each side; a class of one stays in training.
  const small = stratifiedSplit([{ path: 'a/1', label: 0 }, { path: 'a/2', label: 0 }, { path: 'b/1', label: 1 }], 2, { testPortion: 0.01, seed: 0 });
  assert.deepEqual([small.train.length, small.test.length], [2, 1]);
});

test("the default image size is the images' own when all share one square size of at most 64, else 32", () => {
  const sq = (s: number) => ({ width: s, height: s });
  assert.equal(defaultImageSize([sq(28), sq(28)]).size, 28);
  assert.equal(defaultImageSize([sq(64)]).size, 64);
  assert.equal(defaultImageSize([sq(28), sq(32)]).size, 32);
  assert.equal(defaultImageSize([sq(96)]).size, 32);
  assert.equal(defaultImageSize([sq(30)]).size, 32);
  assert.equal(defaultImageSize([{ width: 28, height: 20 }]).size, 32);
});

const samples = fashionSamples(12);
const pngRoot = join(scratch, 'png');
const jpegRoot = join(scratch, 'jpeg');
let pngOdd: Awaited<ReturnType<typeof writePngFolder>>;
let jpegOdd: Awaited<ReturnType<typeof writeJpegFolder>>;
before(async () => {
  [pngOdd, jpegOdd] = await Promise.all([writePngFolder(pngRoot, samples), writeJpegFolder(jpegRoot, samples)]);
});
const options = (more: Partial<DiskFolderOptions> = {}): DiskFolderOptions => ({ resize: 'area', testPortion: 0.2, splitSeed: 0, parts: { train: 0, test: 0 }, cache: true, ...more });

test('a PNG folder loads exact pixels in 3 channels, skips the corrupt file, then comes from the cache', async () => {
  const first = await loadImageFolder(pngRoot, options());
  const { train, test: held } = first;
  assert.ok(train && held);
  assert.deepEqual(train.classes, FOLDER_CLASSES);
  assert.deepEqual([train.channels, train.height, train.width, train.n + held.n], [3, 28, 28, 48]);
  assert.deepEqual(first.skipped.map((s) => s.file), [join(pngRoot, pngOdd.corrupt)]);
  assert.match(first.skipped[0]!.reason, /^corrupt or truncated PNG \(/);
  assert.match(first.notes.join('\n'), /1 non-image file ignored \(notes\.txt\)/);
  assert.deepEqual(first.decoded, { fresh: 49, cached: 0 });
  // Undo the normalisation of three images (RGB, grayscale, RGBA) and compare with what was written.
  const pixelsOf = (file: string) => {
    const part = train.files!.includes(file) ? train : held;
    const i = part.files!.indexOf(file);
    assert.ok(i >= 0, `${file} is loaded`);
    return Array.from(part.images.subarray(i * 3 * 784, (i + 1) * 3 * 784), (x, k) => Math.round(255 * (x * part.stats.std[Math.floor(k / 784)]! + part.stats.mean[Math.floor(k / 784)]!)));
  };
  const planar = (rgb: Uint8Array) => [0, 1, 2].flatMap((c) => Array.from({ length: 784 }, (_, p) => rgb[3 * p + c]!));
  const sample = (file: string) => samples[Number(/(\d+)\.png$/.exec(file)![1])]!;
  const rgbFile = train.files!.find((f) => /\/(0|1|2|4|5|6|8)\.png$/.test(f))!;
  assert.deepEqual(pixelsOf(rgbFile), planar(tinted(sample(rgbFile).pixels)));
  for (const file of [pngOdd.gray, pngOdd.rgba]) {
    const want = file === pngOdd.gray ? [...sample(file).pixels, ...sample(file).pixels, ...sample(file).pixels] : planar(tinted(sample(file).pixels));
    assert.deepEqual(pixelsOf(file), want, file);
  }
  // The statistics are the training part's: its normalised images have mean 0 and std 1 per channel.
  const red = Array.from({ length: train.n }, (_, i) => Array.from(train.images.subarray(i * 2352, i * 2352 + 784))).flat();
  const mean = red.reduce((a, b) => a + b) / red.length;
  assert.ok(Math.abs(mean) < 1e-4 && Math.abs(Math.sqrt(red.reduce((a, v) => a + (v - mean) ** 2, 0) / red.length) - 1) < 1e-4);

  const again = await loadImageFolder(pngRoot, options());
  assert.deepEqual(again.decoded, { fresh: 0, cached: 49 });
  assert.deepEqual(again.train!.images, train.images);
  assert.deepEqual(again.test!.files, held.files);
  // A changed file is decoded again, and only it; another size is another cache.
  utimesSync(join(pngRoot, rgbFile), new Date(), new Date(Date.now() + 5000));
  assert.deepEqual((await loadImageFolder(pngRoot, options())).decoded, { fresh: 1, cached: 48 });
  const small = await loadImageFolder(pngRoot, options({ imageSize: 8, parts: { train: 10 } }));
  assert.deepEqual([small.train!.n, small.train!.height, small.test, small.decoded!.fresh], [10, 8, null, 10]);
});

test('a JPEG folder with train/ and test/ loads its own split in 1 channel, progressive and baseline alike', async () => {
  const loaded = await loadImageFolder(jpegRoot, options());
  const { train, test: held } = loaded;
  assert.ok(train && held);
  // Every fifth image is in test/; train/ also holds the truncated JPEG.
  assert.deepEqual([train.channels, train.n, held.n], [1, 39, 9]);
  assert.deepEqual(train.split, { testPortion: null, seed: 0 });
  assert.ok(held.files!.every((f) => f.startsWith('test/')) && train.files!.every((f) => f.startsWith('train/')));
  assert.deepEqual(loaded.skipped.map((s) => s.file), [join(jpegRoot, jpegOdd.corrupt)]);
  assert.match(loaded.skipped[0]!.reason, /premature end of JPEG|corrupt or truncated/);
  for (const [i, file] of train.files!.slice(0, 4).entries()) {
    const want = samples[Number(/(\d+)\.jpg$/.exec(file)![1])]!.pixels;
    const got = Array.from(train.images.subarray(i * 784, (i + 1) * 784), (x) => 255 * (x * train.stats.std[0]! + train.stats.mean[0]!));
    const worst = Math.max(...got.map((v, p) => Math.abs(v - want[p]!)));
    assert.ok(worst <= 10, `${file}: off by up to ${worst} after JPEG at quality 95`);
  }
});

test('a folder is checked against the classes a checkpoint was trained on', async () => {
  const other = join(scratch, 'other');
  for (const name of ['cat', 'dog']) {
    mkdirSync(join(other, name), { recursive: true });
    writeFileSync(join(other, name, 'a.png'), 'x');
  }
  const like = { classes: FOLDER_CLASSES, channels: 3, imageSize: [8, 8] as [number, number], mean: [0, 0, 0], std: [1, 1, 1], resize: 'area' as const, split: { testPortion: 0.2, seed: 0 } };
  await assert.rejects(loadImageFolder(other, options({ like })), (e: Error) => e.message.startsWith(
    `${other}: its classes [cat, dog] differ from the classes [${FOLDER_CLASSES.join(', ')}] of the checkpoint; `));
});
