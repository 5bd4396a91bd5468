// The in-memory dataset every trainer reads, and what the format parsers share.
// No node imports here or in the parsers: they also run in the browser bundle.
import type { SplitRule } from './dataInfo.ts';
import type { ResizeFilter } from './resample.ts';

export type Split = 'train' | 'test';

export type Dataset = {
  /** N·C·H·W floats in NCHW order, normalised per channel: (x/255 - mean) / std. */
  images: Float32Array;
  /** Indices into `classes`. */
  labels: Uint16Array;
  n: number;
  channels: number;
  height: number;
  width: number;
  /** Class names in label order. */
  classes: readonly string[];
  /** The normalisation `images` went through. */
  stats: ChannelStats;
  /** The filter that brought the images to height × width. */
  resize: ResizeFilter;
  /** How the test images were set apart from these (null: the data's own test set). */
  split: SplitRule | null;
  name: string;
  /** Image folders: each image's file, relative to the folder. */
  files?: readonly string[];
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

/** A corrupt or missing data file. The message is one line: file, problem, fix. */
export class DatasetFileError extends Error {
  constructor(file: string, problem: string, fix: string) {
    super(`${file}: ${problem}; ${fix}`);
    this.name = 'DatasetFileError';
  }
}

export function checkLabels(labels: ArrayLike<number>, classes: number, file: string): void {
  for (let i = 0; i < labels.length; i++) {
    if (labels[i]! >= classes) {
      throw new DatasetFileError(
        file,
        `label ${labels[i]} of item ${i} is outside 0..${classes - 1}`,
        `the file is corrupt or not a ${classes}-class dataset, re-download it`,
      );
    }
  }
}

type Shape = { n: number; channels: number; height: number; width: number };

/** Raw bytes in NCHW order to normalised floats. */
export function normalise(pixels: Uint8Array, shape: Shape, stats: ChannelStats): Float32Array {
  const plane = shape.height * shape.width;
  const out = new Float32Array(pixels.length);
  // One lookup table per channel: 256 entries instead of a divide per pixel.
  const tables = stats.mean.map((mean, c) =>
    Float32Array.from({ length: 256 }, (_, v) => (v / 255 - mean) / stats.std[c]!),
  );
  for (let i = 0; i < shape.n; i++) {
    for (let c = 0; c < shape.channels; c++) {
      const table = tables[c]!;
      const base = (i * shape.channels + c) * plane;
      for (let p = base; p < base + plane; p++) out[p] = table[pixels[p]!]!;
    }
  }
  return out;
}

/** Per-channel mean and (population) std of raw NCHW bytes scaled to [0, 1], from exact histograms. */
export function channelStats(pixels: Uint8Array, shape: Shape): ChannelStats {
  const plane = shape.height * shape.width;
  const histograms = Array.from({ length: shape.channels }, () => new Float64Array(256));
  for (let i = 0; i < shape.n; i++) {
    for (let c = 0; c < shape.channels; c++) {
      const h = histograms[c]!;
      const base = (i * shape.channels + c) * plane;
      for (let p = base; p < base + plane; p++) h[pixels[p]!]++;
    }
  }
  const count = shape.n * plane;
  const mean: number[] = [];
  const std: number[] = [];
  for (const h of histograms) {
    let sum = 0;
    for (let v = 0; v < 256; v++) sum += h[v]! * (v / 255);
    const m = sum / count;
    let squares = 0;
    for (let v = 0; v < 256; v++) squares += h[v]! * (v / 255 - m) ** 2;
    mean.push(m);
    // A constant channel (every pixel the same) would divide by zero; it carries no signal anyway.
    std.push(Math.sqrt(squares / count) || 1);
  }
  return { mean, std };
}
