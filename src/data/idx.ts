// (Fashion-)MNIST IDX files (http://yann.lecun.com/exdb/mnist/): a big-endian header,
// magic 0x00000803 then N, rows, cols for images; magic 0x00000801 then N for labels;
// then one unsigned byte per pixel or label.

import {
  checkLabels,
  DatasetFileError,
  FASHION_MNIST_STATS,
  normalise,
  type Dataset,
  type NamedBytes,
  type Split,
} from './dataset.ts';

/** Zalando's label descriptions, in label order. */
export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

const IMAGES_MAGIC = 0x00000803;
const LABELS_MAGIC = 0x00000801;

/** The file names of the official release, without the .gz suffix. */
export const FASHION_MNIST_FILES: Record<Split, { images: string; labels: string }> = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
};

export type IdxImages = { n: number; height: number; width: number; pixels: Uint8Array };

function header(bytes: Uint8Array, file: string, magic: number, words: number): number[] {
  const headerBytes = 4 * (words + 1);
  if (bytes.length < headerBytes) {
    throw new DatasetFileError(
      file,
      `truncated: ${bytes.length} bytes, shorter than the ${headerBytes}-byte IDX header`,
      're-download it',
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const found = view.getUint32(0);
  if (found !== magic) {
    const hint =
      bytes[0] === 0x1f && bytes[1] === 0x8b
        ? 'it is still gzip-compressed: name it *.gz or gunzip it'
        : found === IMAGES_MAGIC || found === LABELS_MAGIC
          ? 'this is the other kind of IDX file: check which file is images and which is labels'
          : 'it is not an IDX file, re-download it';
    throw new DatasetFileError(file, `wrong magic 0x${hex(found)}, expected 0x${hex(magic)}`, hint);
  }
  return Array.from({ length: words }, (_, i) => view.getUint32(4 * (i + 1)));
}

function body(bytes: Uint8Array, file: string, offset: number, expected: number, what: string): Uint8Array {
  const actual = bytes.length - offset;
  if (actual < expected) {
    throw new DatasetFileError(
      file,
      `truncated: header says ${what} (${expected} bytes) but only ${actual} follow`,
      're-download it',
    );
  }
  if (actual > expected) {
    throw new DatasetFileError(
      file,
      `${actual - expected} extra bytes after the ${what} the header declares`,
      're-download it, or fix the count in the header if the file was cut on purpose',
    );
  }
  return bytes.subarray(offset);
}

function hex(x: number): string {
  return x.toString(16).padStart(8, '0');
}

export function parseIdxImages(bytes: Uint8Array, file: string): IdxImages {
  const [n, height, width] = header(bytes, file, IMAGES_MAGIC, 3);
  if (height === 0 || width === 0) {
    throw new DatasetFileError(file, `image size ${height}x${width} in the header`, 're-download it');
  }
  const pixels = body(bytes, file, 16, n * height * width, `${n} images of ${height}x${width}`);
  return { n, height, width, pixels };
}

export function parseIdxLabels(bytes: Uint8Array, file: string): Uint16Array {
  const [n] = header(bytes, file, LABELS_MAGIC, 1);
  const labels = body(bytes, file, 8, n, `${n} labels`);
  checkLabels(labels, FASHION_MNIST_CLASSES.length, file);
  return Uint16Array.from(labels);
}

/** A Fashion-MNIST split from its (gunzipped) images and labels files. */
export function fashionMnistDataset(images: NamedBytes, labels: NamedBytes, split: Split): Dataset {
  const img = parseIdxImages(images.bytes, images.file);
  const lab = parseIdxLabels(labels.bytes, labels.file);
  if (img.n !== lab.length) {
    throw new DatasetFileError(
      images.file,
      `has ${img.n} images but ${labels.file} has ${lab.length} labels`,
      'the two files must come from the same release, re-download both',
    );
  }
  const shape = { n: img.n, channels: 1, height: img.height, width: img.width };
  return {
    ...shape,
    images: normalise(img.pixels, shape, FASHION_MNIST_STATS),
    labels: lab,
    classes: FASHION_MNIST_CLASSES,
    stats: FASHION_MNIST_STATS,
    resize: 'bilinear',
    split: null,
    name: `fashion-mnist-${split}`,
  };
}
