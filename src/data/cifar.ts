// CIFAR-10 binary version (https://www.cs.toronto.edu/~kriz/cifar.html): each record is
// one label byte then 3072 pixel bytes, the 1024 red, then green, then blue values of a
// 32x32 image in row-major order, which is already NCHW. The official batch files hold
// 10,000 records each; any whole number of records is accepted.

import {
  checkLabels,
  CIFAR10_STATS,
  DatasetFileError,
  normalise,
  type Dataset,
  type NamedBytes,
  type Split,
} from './dataset.ts';

const SIDE = 32;
const CHANNELS = 3;
const PIXELS = CHANNELS * SIDE * SIDE;
const RECORD = 1 + PIXELS;

export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

export const CIFAR10_FILES: Record<Split, string[]> = {
  train: [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`),
  test: ['test_batch.bin'],
};

export type CifarBatch = { n: number; labels: Uint16Array; pixels: Uint8Array };

export function parseCifarBatch(bytes: Uint8Array, file: string): CifarBatch {
  if (bytes.length === 0 || bytes.length % RECORD !== 0) {
    throw new DatasetFileError(
      file,
      `size ${bytes.length} bytes is not a positive multiple of the ${RECORD}-byte record`,
      'the file is truncated or not a CIFAR-10 binary batch, re-download cifar-10-binary.tar.gz',
    );
  }
  const n = bytes.length / RECORD;
  const labels = new Uint16Array(n);
  const pixels = new Uint8Array(n * PIXELS);
  for (let i = 0; i < n; i++) {
    labels[i] = bytes[i * RECORD];
    pixels.set(bytes.subarray(i * RECORD + 1, (i + 1) * RECORD), i * PIXELS);
  }
  checkLabels(labels, CIFAR10_CLASSES.length, file);
  return { n, labels, pixels };
}

/** A CIFAR-10 split from its (already read) batch files, concatenated in the order given. */
export function cifar10Dataset(batches: NamedBytes[], split: Split): Dataset {
  const parsed = batches.map((b) => parseCifarBatch(b.bytes, b.file));
  const n = parsed.reduce((sum, b) => sum + b.n, 0);
  const labels = new Uint16Array(n);
  const pixels = new Uint8Array(n * PIXELS);
  let offset = 0;
  for (const b of parsed) {
    labels.set(b.labels, offset);
    pixels.set(b.pixels, offset * PIXELS);
    offset += b.n;
  }
  const shape = { n, channels: CHANNELS, height: SIDE, width: SIDE };
  return {
    ...shape,
    images: normalise(pixels, shape, CIFAR10_STATS),
    labels,
    classes: CIFAR10_CLASSES,
    stats: CIFAR10_STATS,
    resize: 'bilinear',
    split: null,
    name: `cifar10-${split}`,
  };
}
