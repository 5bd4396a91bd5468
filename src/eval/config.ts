// Every hyperparameter of training a genotype from scratch, its presets, and what follows from
// them (SGAS.md §3, cnn/train.py).
import { RECOMPUTE_MODES, type RecomputeMode } from '../train/memory.ts';

export interface TrainConfig {
  /** Network. */
  initChannels: number;
  layers: number;
  auxiliary: boolean;
  /** The auxiliary head's widths scale with initChannels (src/eval/model.ts auxiliaryWidths); false: DARTS's fixed ones. */
  auxiliaryScaled: boolean;
  auxiliaryWeight: number;
  dropPathProb: number;
  /** Data: at most this many training / test images (0 = all), resized to imageSize (0 = keep). */
  maxImages: number;
  maxTestImages: number;
  imageSize: number;
  /** Augmentation: random crop with this much zero padding (0 = off), flips, Cutout. */
  cropPadding: number;
  flip: boolean;
  cutout: boolean;
  cutoutLength: number;
  /** SGD with a cosine schedule from learningRate to learningRateMin, stepped at the start of each epoch. */
  epochs: number;
  batchSize: number;
  learningRate: number;
  learningRateMin: number;
  momentum: number;
  weightDecay: number;
  gradClip: number;
  seed: number;
  /** Compute each cell's insides again in the backward instead of keeping them (src/train/memory.ts). */
  recompute: RecomputeMode;
}

/** The paper's evaluation (cnn/train.py as the README runs it: --auxiliary --cutout); at C=36 the scaled head is the paper's. */
const SGAS_CIFAR10: TrainConfig = {
  initChannels: 36, layers: 20, auxiliary: true, auxiliaryScaled: true, auxiliaryWeight: 0.4, dropPathProb: 0.2,
  maxImages: 0, maxTestImages: 0, imageSize: 0, cropPadding: 4, flip: true, cutout: true, cutoutLength: 16,
  epochs: 600, batchSize: 96, learningRate: 0.025, learningRateMin: 0, momentum: 0.9, weightDecay: 3e-4, gradClip: 5,
  seed: 0, recompute: 'auto',
};

export const TRAIN_PRESETS: Record<string, { description: string; config: TrainConfig }> = {
  'sgas-cifar10': {
    description: "the paper's training: C=36, 20 cells, auxiliary 0.4, cutout 16, drop path 0.2, batch 96, lr 0.025 cosine to 0 over 600 epochs (needs --data with CIFAR-10)",
    config: SGAS_CIFAR10,
  },
  cpu: {
    description: 'the default on the embedded Fashion-MNIST: C=8, 8 cells at 28×28, all 10,000 training and 10,000 test images, batch 64, cutout 14, 10 epochs; about 40 seconds an epoch (training and the test pass) on 2 CPU cores (WebAssembly backend)',
    config: {
      ...SGAS_CIFAR10, initChannels: 8, layers: 8, cutoutLength: 14, epochs: 10, batchSize: 64, learningRate: 0.05,
    },
  },
  tiny: {
    description: 'a complete training in seconds for tests and smoke checks: C=4, 3 cells at 8×8, 64 training and 64 test images, batch 16, 2 epochs',
    config: {
      ...SGAS_CIFAR10, initChannels: 4, layers: 3, imageSize: 8, maxImages: 64, maxTestImages: 64, cropPadding: 1, cutoutLength: 3,
      epochs: 2, batchSize: 16, learningRate: 0.05,
    },
  },
};

export const DEFAULT_TRAIN_PRESET = 'cpu';

/**
 * A config as a checkpoint or run.json stored it, with what its version did for fields it predates:
 * recompute planned as new runs do, the auxiliary head at DARTS's fixed widths (so its tensors load).
 */
export function storedTrainConfig(stored: TrainConfig): TrainConfig {
  return { ...stored, recompute: stored.recompute ?? 'auto', auxiliaryScaled: stored.auxiliaryScaled ?? false };
}

export function trainPresetConfig(name: string): TrainConfig {
  const preset = TRAIN_PRESETS[name];
  if (!preset) throw new Error(`unknown preset '${name}' (presets: ${Object.keys(TRAIN_PRESETS).join(', ')})`);
  return { ...preset.config };
}

/**
 * The rate SGD uses in epoch e: CosineAnnealingLR(T_max = epochs) stepped before the epoch, as
 * train.py does under the PyTorch it pins, so epoch 0 already uses step 1 and the last epoch
 * trains at learningRateMin.
 */
export function trainLearningRateAt(c: TrainConfig, epoch: number): number {
  return c.learningRateMin + ((c.learningRate - c.learningRateMin) * (1 + Math.cos((Math.PI * (epoch + 1)) / c.epochs))) / 2;
}

/** Drop path probability of epoch e: a linear ramp from 0 (train.py: drop_path_prob · epoch / epochs). */
export function dropPathProbAt(c: TrainConfig, epoch: number): number {
  return (c.dropPathProb * epoch) / c.epochs;
}

/** Checks a config before any work, naming the first bad value. */
export function validateTrainConfig(c: TrainConfig): void {
  const bad = (what: string): never => {
    throw new Error(`invalid training setting: ${what}`);
  };
  for (const name of ['initChannels', 'layers', 'epochs', 'batchSize', 'cutoutLength'] as const) {
    if (!Number.isInteger(c[name]) || c[name] <= 0) bad(`${name} must be a positive integer, got ${c[name]}`);
  }
  for (const name of ['maxImages', 'maxTestImages', 'imageSize', 'cropPadding'] as const) {
    if (!Number.isInteger(c[name]) || c[name] < 0) bad(`${name} must be a non-negative integer, got ${c[name]}`);
  }
  if (c.layers < 3) bad(`layers must be at least 3 (two reduction cells and a normal one), got ${c.layers}`);
  if (c.batchSize < 2) bad(`batchSize must be at least 2 (BatchNorm needs two samples), got ${c.batchSize}`);
  if (c.imageSize && c.imageSize % 4 !== 0) bad(`imageSize must be a multiple of 4 (two reductions need even sizes), got ${c.imageSize}`);
  if (!(c.learningRate > 0) || !(c.learningRateMin >= 0) || c.learningRateMin > c.learningRate) bad('learning rates must satisfy 0 <= min <= lr, lr > 0');
  if (!(c.dropPathProb >= 0 && c.dropPathProb < 1)) bad(`dropPathProb must be in [0, 1), got ${c.dropPathProb}`);
  for (const name of ['momentum', 'weightDecay', 'auxiliaryWeight'] as const) {
    if (!(c[name] >= 0)) bad(`${name} must be non-negative, got ${c[name]}`);
  }
  if (!(c.gradClip > 0)) bad(`gradClip must be positive, got ${c.gradClip}`);
  if (!Number.isSafeInteger(c.seed)) bad(`seed must be an integer, got ${c.seed}`);
  if (!RECOMPUTE_MODES.includes(c.recompute)) bad(`recompute must be one of ${RECOMPUTE_MODES.join(', ')}, got ${c.recompute}`);
}
