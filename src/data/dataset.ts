// The in-memory dataset every trainer reads, and what the format parsers share.
// No node imports here or in the parsers: they also run in the browser bundle.

export type Split = 'train' | 'test';

export type Dataset = {
  /** N·C·H·W floats in NCHW order, normalised per channel: (x/255 - mean) / std. */
  images: Float32Array;
  labels: Uint8Array;
  n: number;
  channels: number;
  height: number;
  width: number;
  classes: 10;
  name: string;
};

/** A file's bytes (already gunzipped) with the name to put in error messages. */
export type NamedBytes = { file: string; bytes: Uint8Array };

export type ChannelStats = { mean: readonly number[]; std: readonly number[] };

export const FASHION_MNIST_STATS: ChannelStats = { mean: [0.286], std: [0.353] };

// The CIFAR-10 training-set statistics used by the DARTS/SGAS reference (_data_transforms_cifar10).
export const CIFAR10_STATS: ChannelStats = {
  mean: [0.49139968, 0.48215827, 0.44653124],
  std: [0.24703233, 0.24348505, 0.26158768],
};

export const CLASSES = 10;

/** A corrupt or missing data file. The message is one line: file, problem, fix. */
export class DatasetFileError extends Error {
  constructor(file: string, problem: string, fix: string) {
    super(`${file}: ${problem}; ${fix}`);
    this.name = 'DatasetFileError';
  }
}

export function checkLabels(labels: Uint8Array, file: string): void {
  const bad = labels.findIndex((l) => l >= CLASSES);
  if (bad >= 0) {
    throw new DatasetFileError(
      file,
      `label ${labels[bad]} of item ${bad} is outside 0..${CLASSES - 1}`,
      'the file is corrupt or not a 10-class dataset, re-download it',
    );
  }
}

/** Raw bytes in NCHW order to normalised floats. */
export function normalise(
  pixels: Uint8Array,
  shape: { n: number; channels: number; height: number; width: number },
  stats: ChannelStats,
): Float32Array {
  const plane = shape.height * shape.width;
  const out = new Float32Array(pixels.length);
  // One lookup table per channel: 256 entries instead of a divide per pixel.
  const tables = stats.mean.map((mean, c) =>
    Float32Array.from({ length: 256 }, (_, v) => (v / 255 - mean) / stats.std[c]),
  );
  for (let i = 0; i < shape.n; i++) {
    for (let c = 0; c < shape.channels; c++) {
      const table = tables[c];
      const base = (i * shape.channels + c) * plane;
      for (let p = base; p < base + plane; p++) out[p] = table[pixels[p]];
    }
  }
  return out;
}
