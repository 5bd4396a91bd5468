// What a trained network needs to know about its input, saved with every run (run.json,
// genotype.json, every checkpoint) so that a checkpoint alone is enough to predict, and an
// export can put the same preprocessing in front of the network.
import { DatasetFileError, type Dataset } from './dataset.ts';
import { RESIZE_FILTERS, type ResizeFilter } from './resample.ts';

/**
 * How an image folder's images were ordered and split: the seed shuffles both parts (so that a
 * first-N subset holds every class) and, without a test/ folder, draws a stratified testPortion
 * of each class for testing; testPortion is null where the folder has its own test/ or val/.
 */
export interface SplitRule {
  testPortion: number | null;
  seed: number;
}

/**
 * The input record. An image becomes the network's input as follows: decode to 8-bit RGB(A);
 * drop alpha; an image whose three channels are equal everywhere is grayscale; resize each
 * channel to imageSize with `resize` (area: the mean over the source area each output pixel
 * covers; bilinear: PyTorch's align_corners=False) and round to 8 bits; for a 1-channel
 * network convert colour to luma (0.299 R + 0.587 G + 0.114 B, rounded), for a 3-channel one
 * repeat a grayscale plane; then x = (p / 255 - mean[c]) / std[c], in NCHW order. Image
 * folders, sgas predict and the inference API take these steps by one piece of code (data/image.ts);
 * an ONNX export takes the resized pixels in [0, 1] and normalises them itself.
 */
export interface DataInfo {
  /** Class names in label order: the network's output k is classes[k]. */
  classes: string[];
  /** 1 (grayscale) or 3 (RGB). */
  channels: number;
  /** [height, width] of the network's input. */
  imageSize: [number, number];
  /** Per channel, of the training pixels scaled to [0, 1]. */
  mean: number[];
  std: number[];
  resize: ResizeFilter;
  /** Image folders: how the test images were set apart; null for IDX and CIFAR-10, whose files hold both sets. */
  split: SplitRule | null;
}

export function dataInfoOf(data: Dataset): DataInfo {
  return {
    classes: [...data.classes],
    channels: data.channels,
    imageSize: [data.height, data.width],
    mean: [...data.stats.mean],
    std: [...data.stats.std],
    resize: data.resize,
    split: data.split,
  };
}

/** How the test images were set apart, in words. */
export function describeSplit(split: SplitRule | null): string {
  if (!split) return "the files' own training and test sets";
  if (split.testPortion === null) return `the folder's own test set, order seed ${split.seed}`;
  return `stratified, ${+(100 * split.testPortion).toFixed(2)}% for testing, seed ${split.seed}`;
}

/** Data for a network must have its classes, by name and in order; `where` names the data, `source` the network. */
export function checkSameClasses(expected: readonly string[], found: readonly string[], where: string, source: string): void {
  const same = expected.length === found.length && expected.every((c, i) => c === found[i]);
  if (!same) {
    throw new DatasetFileError(
      where,
      `its classes [${found.join(', ')}] differ from the classes [${expected.join(', ')}] of ${source}`,
      'use data with the classes the network was trained on, or train a network on this data',
    );
  }
}

/**
 * The first thing wrong with a data record read from a file (a checkpoint, a model file), or null:
 * whatever reads it next (a network's input, a resize, a normalisation) may trust every field.
 */
export function dataInfoProblem(info: unknown): string | null {
  if (typeof info !== 'object' || info === null) return 'is missing';
  const { classes, channels, imageSize, mean, std, resize, split } = info as Partial<Record<keyof DataInfo, unknown>>;
  const positiveInteger = (v: unknown) => Number.isInteger(v) && (v as number) > 0;
  const perChannel = (v: unknown) => Array.isArray(v) && v.length === channels && v.every(Number.isFinite);
  if (!Array.isArray(classes) || classes.length < 2 || !classes.every((c) => typeof c === 'string')) return 'has no list of at least 2 class names';
  if (channels !== 1 && channels !== 3) return `has ${String(channels)} channels, not 1 or 3`;
  if (!Array.isArray(imageSize) || imageSize.length !== 2 || !imageSize.every(positiveInteger)) return 'has no image size [height, width]';
  if (!perChannel(mean) || !perChannel(std)) return 'needs one mean and one std per channel';
  if (!(std as number[]).every((s) => s > 0)) return 'has a std that is not positive';
  if (!RESIZE_FILTERS.includes(resize as ResizeFilter)) return `has resize '${String(resize)}', not one of ${RESIZE_FILTERS.join(', ')}`;
  const rule = split as SplitRule | null | undefined;
  if (rule !== null && !(typeof rule === 'object' && Number.isInteger(rule.seed) && (rule.testPortion === null || Number.isFinite(rule.testPortion)))) {
    return 'has no split rule (null, or a seed and a test portion)';
  }
  return null;
}
