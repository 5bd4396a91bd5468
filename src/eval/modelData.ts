// What a trained network expects of its images and calls its classes: everything a prediction or
// an export needs besides the network itself.
import { CIFAR10_STATS, FASHION_MNIST_STATS, type ChannelStats } from '../data/dataset.ts';
import type { SavedTrainState } from './train.ts';

export interface ModelDataInfo {
  /** Class names in label order. */
  classes: string[];
  channels: number;
  /** The size the network was trained at; images are resized to it (bilinear). */
  height: number;
  width: number;
  /** Per channel, applied to pixels in [0, 1]: (x − mean) / std. */
  mean: number[];
  std: number[];
}

const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

/** The loaders normalise IDX files with Fashion-MNIST's statistics and CIFAR-10 batches with CIFAR-10's. */
const BY_CHANNELS: Record<number, { stats: ChannelStats; classes: string[] }> = {
  1: { stats: FASHION_MNIST_STATS, classes: FASHION_MNIST_CLASSES },
  3: { stats: CIFAR10_STATS, classes: CIFAR10_CLASSES },
};

/**
 * The data record of a training checkpoint: the one place that reads it. Checkpoints do not carry
 * one yet, so it follows from the input shape: the statistics the loader of that many channels
 * normalised with, and that dataset's class names.
 */
export function modelDataInfo(state: SavedTrainState): ModelDataInfo {
  const { channels, height, width, classes } = state.input;
  const known = BY_CHANNELS[channels];
  if (!known) throw new Error(`a ${channels}-channel network has no known normalisation`);
  return {
    classes: known.classes.length === classes ? [...known.classes] : Array.from({ length: classes }, (_, i) => String(i)),
    channels, height, width, mean: [...known.stats.mean], std: [...known.stats.std],
  };
}

/** Checks a record read from a file, naming the first bad field. */
export function validateModelData(data: ModelDataInfo, source: string): ModelDataInfo {
  const bad = (what: string): never => {
    throw new Error(`${source}: ${what}; export the model again with sgas export`);
  };
  const positive = (v: unknown) => Number.isInteger(v) && (v as number) > 0;
  if (![1, 3].includes(data?.channels) || !positive(data.height) || !positive(data.width)) bad('image size missing, or channels other than 1 or 3');
  if (!Array.isArray(data.classes) || data.classes.length < 2 || !data.classes.every((c) => typeof c === 'string')) bad('class names missing');
  for (const key of ['mean', 'std'] as const) {
    const v = data[key];
    if (!Array.isArray(v) || v.length !== data.channels || !v.every(Number.isFinite)) bad(`${key} must hold one number per channel`);
  }
  if (!data.std.every((s) => s > 0)) bad('std must be positive');
  return data;
}
