// Image folders made from the embedded Fashion-MNIST for the tests and the benchmark, written by
// sharp (libpng and mozjpeg, so the PNGs are not read back by the library that wrote them): PNGs in
// grayscale, RGB and RGBA, JPEGs baseline and progressive, with the odd files a real folder holds.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import sharp from 'sharp';
import { FASHION_MNIST_FILES, parseIdxImages, parseIdxLabels } from '../../src/data/idx.ts';
import { embeddedDataDir } from '../../src/data/load.ts';

/** Folder-safe names of the first Fashion-MNIST classes ('T-shirt/top' holds a slash). */
export const FOLDER_CLASSES = ['dress', 'pullover', 't-shirt', 'trouser'];
/** Their Fashion-MNIST labels, in the folder classes' (sorted) order. */
const FASHION_LABELS = [3, 2, 0, 1];

export interface Sample {
  /** Index into FOLDER_CLASSES. */
  label: number;
  /** 28×28 gray bytes. */
  pixels: Uint8Array;
}

/** The embedded training images as 28×28 bytes, with their Fashion-MNIST labels. */
export function embeddedImages(): { label: number; pixels: Uint8Array }[] {
  const dir = embeddedDataDir();
  const read = (name: string) => gunzipSync(readFileSync(join(dir, `${name}.gz`)));
  const images = parseIdxImages(read(FASHION_MNIST_FILES.train.images), 'images');
  const labels = parseIdxLabels(read(FASHION_MNIST_FILES.train.labels), 'labels');
  return Array.from(labels, (label, i) => ({ label, pixels: images.pixels.subarray(i * 784, (i + 1) * 784) }));
}

/** The first `perClass` embedded training images of each folder class. */
export function fashionSamples(perClass: number): Sample[] {
  const all = embeddedImages();
  return FASHION_LABELS.flatMap((fashion, label) =>
    all.filter((s) => s.label === fashion).slice(0, perClass).map((s) => ({ label, pixels: s.pixels })));
}

/** A colour version of a gray image: R = p, G = ¾p, B = ½p, so the folder needs three channels. */
export function tinted(pixels: Uint8Array): Uint8Array {
  const rgb = new Uint8Array(pixels.length * 3);
  pixels.forEach((p, i) => rgb.set([p, (3 * p) >> 2, p >> 1], 3 * i));
  return rgb;
}

/** A PNG (28×28 unless told) of 1 (grayscale), 3 (RGB) or 4 (RGBA) interleaved channels. */
export function pngBytes(data: Uint8Array, channels: 1 | 3 | 4, width = 28, height = 28): Promise<Buffer> {
  const image = sharp(Buffer.from(data), { raw: { width, height, channels } });
  return (channels === 1 ? image.toColourspace('b-w') : image).png().toBuffer();
}

/**
 * DIR/<class>/<n>.png, colour (3 channels) but for one grayscale PNG and one RGBA PNG (alpha
 * varying) per class; plus a truncated PNG, .DS_Store files and a notes.txt. Returns the odd files.
 */
export async function writePngFolder(root: string, samples: Sample[]): Promise<{ gray: string; rgba: string; corrupt: string }> {
  await Promise.all(samples.map(async (s, i) => {
    const dir = join(root, FOLDER_CLASSES[s.label]!);
    mkdirSync(dir, { recursive: true });
    const k = i % 12;
    const rgb = tinted(s.pixels);
    const rgba = new Uint8Array(28 * 28 * 4);
    for (let p = 0; p < 784; p++) rgba.set([rgb[3 * p]!, rgb[3 * p + 1]!, rgb[3 * p + 2]!, (p * 7) % 256], 4 * p);
    writeFileSync(join(dir, `${i}.png`), await (k === 3 ? pngBytes(s.pixels, 1) : k === 7 ? pngBytes(rgba, 4) : pngBytes(rgb, 3)));
  }));
  const first = FOLDER_CLASSES[0]!;
  writeFileSync(join(root, first, 'broken.png'), (await pngBytes(tinted(samples[0]!.pixels), 3)).subarray(0, 120));
  writeFileSync(join(root, '.DS_Store'), 'Bud1 not an image');
  writeFileSync(join(root, first, '.DS_Store'), 'Bud1 not an image');
  writeFileSync(join(root, 'notes.txt'), 'where these images came from');
  return { gray: join(first, '3.png'), rgba: join(first, '7.png'), corrupt: join(first, 'broken.png') };
}

/**
 * DIR/train/<class>/<n>.jpg and DIR/test/<class>/<n>.jpg (every fifth image), grayscale JPEGs,
 * every other one progressive; plus a truncated JPEG and a .DS_Store.
 */
export async function writeJpegFolder(root: string, samples: Sample[]): Promise<{ corrupt: string }> {
  const jpeg = (s: Sample, progressive: boolean) =>
    sharp(Buffer.from(s.pixels), { raw: { width: 28, height: 28, channels: 1 } }).toColourspace('b-w').jpeg({ quality: 95, progressive }).toBuffer();
  await Promise.all(samples.map(async (s, i) => {
    const dir = join(root, i % 5 === 4 ? 'test' : 'train', FOLDER_CLASSES[s.label]!);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${i}.jpg`), await jpeg(s, i % 2 === 0));
  }));
  const corrupt = join('train', FOLDER_CLASSES[1]!, 'cut.jpg');
  writeFileSync(join(root, corrupt), (await jpeg(samples[0]!, false)).subarray(0, 200));
  writeFileSync(join(root, '.DS_Store'), 'Bud1 not an image');
  return { corrupt };
}

/** ROOT/<class>/<n>.png for each class: `images` copies of one PNG, for the folders refused before any work. */
export function copiesFolder(root: string, png: Uint8Array, classes: string[], images: number): string {
  for (const c of classes) {
    mkdirSync(join(root, c), { recursive: true });
    for (let i = 0; i < images; i++) writeFileSync(join(root, c, `${i}.png`), png);
  }
  return root;
}
