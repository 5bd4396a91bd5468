// Every hyperparameter of a search, its presets, and what follows from them (SGAS.md §2.1–2.3).
import { NUM_EDGES, STEPS } from './space.ts';
import { RECOMPUTE_MODES, type RecomputeMode } from '../train/memory.ts';

export interface SearchConfig {
  /** Network. */
  initChannels: number;
  layers: number;
  stemMultiplier: number;
  /** Data: share of the training images used for weights (the rest is the Architect's validation set). */
  trainPortion: number;
  /** Use at most this many training images (0 = all); the CPU presets search on a subset. */
  maxImages: number;
  /** Resize images to this side first (0 = keep); bilinear, on the host. */
  imageSize: number;
  /** Random crop with this much zero padding (0 = off) and horizontal flips. */
  cropPadding: number;
  flip: boolean;
  /** Weight optimiser: SGD with a cosine schedule stepped at the start of each epoch. */
  batchSize: number;
  batchIncrease: number;
  learningRate: number;
  learningRateMin: number;
  momentum: number;
  weightDecay: number;
  gradClip: number;
  /** Architect: Adam on the alphas. */
  archLearningRate: number;
  archWeightDecay: number;
  archBetas: [number, number];
  unrolled: boolean;
  /**
   * Epochs the weights train alone before the Architect's first step (0: from the first step).
   * Untrained convolutions lose to parameter-free ops at first, and alphas learnt then drift
   * towards pools and skips: PC-DARTS's reason for training the weights first.
   */
  archStartEpoch: number;
  /**
   * Drop path on the parameter-free ops (pools, identity) of undecided edges, in the weight and the
   * Architect steps: each sample of their outputs is zeroed with this probability (the rest scaled
   * up). P-DARTS drops identity's output to stop parameter-free ops winning on their head start.
   */
  paramFreeDrop: number;
  /**
   * A node's pruned edges (its other candidates once two are decided) stay in the network as
   * mixed edges, their alphas frozen and their weights training, instead of leaving it (SGAS):
   * the network the later decisions are made in changes less at each pruning.
   */
  keepPrunedEdges: boolean;
  /** Edge decisions. */
  criterion: 1 | 2;
  warmupDecEpoch: number;
  decisionFreq: number;
  historySize: number;
  /** Epochs of training after the last decision (the reference uses 5, then one more). */
  postTrain: number;
  /** Validation images evaluated after each epoch with running BN statistics (0 = the whole validation split). */
  maxValidImages: number;
  seed: number;
  /** Compute each cell's insides again in the backward instead of keeping them (see src/search/step.ts). */
  recompute: RecomputeMode;
}

/** The paper's settings (train_search.py defaults) on CIFAR-10. */
const SGAS_CIFAR10: SearchConfig = {
  initChannels: 16, layers: 8, stemMultiplier: 3,
  trainPortion: 0.5, maxImages: 0, imageSize: 0, cropPadding: 4, flip: true,
  batchSize: 64, batchIncrease: 8, learningRate: 0.025, learningRateMin: 0.001, momentum: 0.9, weightDecay: 3e-4, gradClip: 5,
  archLearningRate: 3e-4, archWeightDecay: 1e-3, archBetas: [0.5, 0.999], unrolled: false, archStartEpoch: 0, paramFreeDrop: 0, keepPrunedEdges: false,
  criterion: 1, warmupDecEpoch: 9, decisionFreq: 5, historySize: 4, postTrain: 5,
  maxValidImages: 0, seed: 2, recompute: 'auto',
};

export const PRESETS: Record<string, { description: string; config: SearchConfig }> = {
  'sgas-cifar10': {
    description: "the paper's search: C=16, 8 cells, batch 64 (+8 per decision), warm-up 9, decision every 5 epochs, 50 epochs (needs --data with CIFAR-10)",
    config: SGAS_CIFAR10,
  },
  cpu: {
    description: 'the default on the embedded Fashion-MNIST: C=8, 5 cells at 16×16, 2,048 images (half for the alphas), batch 32 (+4 per decision), warm-up 2, a decision every epoch, 11 epochs; about 2 minutes on 2 CPU cores with the WebAssembly backend',
    config: {
      ...SGAS_CIFAR10, initChannels: 8, layers: 5, maxImages: 2048, imageSize: 16, cropPadding: 2, flip: true,
      batchSize: 32, batchIncrease: 4, learningRate: 0.05, warmupDecEpoch: 2, decisionFreq: 1, postTrain: 1,
      archLearningRate: 3e-3, maxValidImages: 512,
    },
  },
  tiny: {
    description: 'a complete search in well under a minute for tests and smoke checks: C=4, 3 cells at 8×8, 32 images, one step per epoch, warm-up 1, a decision every epoch, 9 epochs',
    config: {
      ...SGAS_CIFAR10, initChannels: 4, layers: 3, maxImages: 32, imageSize: 8, cropPadding: 1, flip: true,
      batchSize: 16, batchIncrease: 0, learningRate: 0.05, warmupDecEpoch: 1, decisionFreq: 1, postTrain: 0,
      archLearningRate: 3e-3, maxValidImages: 16,
    },
  },
};

export const DEFAULT_PRESET = 'cpu';

export function presetConfig(name: string): SearchConfig {
  const preset = PRESETS[name];
  if (!preset) throw new Error(`unknown preset '${name}' (presets: ${Object.keys(PRESETS).join(', ')})`);
  return { ...preset.config, archBetas: [...preset.config.archBetas] };
}

/**
 * A config as a run.json or checkpoint kept it: a setting added since reads as the value that ran
 * (recompute: memory planned as new searches plan it).
 */
export function storedSearchConfig(stored: SearchConfig): SearchConfig {
  return {
    ...stored, recompute: stored.recompute ?? 'auto', archStartEpoch: stored.archStartEpoch ?? 0, paramFreeDrop: stored.paramFreeDrop ?? 0,
    keepPrunedEdges: stored.keepPrunedEdges ?? false,
  };
}

/** Edges kept per cell type: two per node. */
export const EDGES_TO_DECIDE = 2 * STEPS;

/** warm-up + one decision every decisionFreq epochs for the 8 kept edges, then post-training (§2.3). */
export function searchEpochs(c: SearchConfig): number {
  return c.warmupDecEpoch + c.decisionFreq * (EDGES_TO_DECIDE - 1) + c.postTrain + 1;
}

/** The rate SGD uses in epoch e: cosine annealing with the scheduler stepped before the epoch. */
export function learningRateAt(c: SearchConfig, epoch: number): number {
  const T = searchEpochs(c);
  return c.learningRateMin + ((c.learningRate - c.learningRateMin) * (1 + Math.cos((Math.PI * (epoch + 1)) / T))) / 2;
}

/** A bad search setting; `key` names it, so a form can point at its field. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly key: keyof SearchConfig | null, what: string) {
    super(`invalid search setting: ${what}`);
  }
}

/** Checks a config before any work, naming the first bad value. */
export function validateConfig(c: SearchConfig): void {
  const bad = (key: keyof SearchConfig | null, what: string) => {
    throw new ConfigError(key, what);
  };
  const positiveInt = (name: keyof SearchConfig) => {
    const v = c[name] as number;
    if (!Number.isInteger(v) || v <= 0) bad(name, `${name} must be a positive integer, got ${v}`);
  };
  (['initChannels', 'layers', 'stemMultiplier', 'batchSize', 'decisionFreq', 'historySize'] as const).forEach(positiveInt);
  if (c.layers < 3) bad('layers', `layers must be at least 3 (two reduction cells and a normal one), got ${c.layers}`);
  if (!(c.trainPortion > 0 && c.trainPortion < 1)) bad('trainPortion', `trainPortion must be in (0, 1), got ${c.trainPortion}`);
  if (!(c.learningRate > 0) || !(c.learningRateMin >= 0) || c.learningRateMin > c.learningRate) bad('learningRate', 'learning rates must satisfy 0 <= min <= lr, lr > 0');
  if (!(c.archLearningRate > 0)) bad('archLearningRate', `archLearningRate must be positive, got ${c.archLearningRate}`);
  if (c.criterion !== 1 && c.criterion !== 2) bad('criterion', `criterion must be 1 or 2, got ${c.criterion}`);
  for (const name of ['archStartEpoch', 'warmupDecEpoch', 'postTrain', 'batchIncrease', 'maxImages', 'imageSize', 'cropPadding', 'maxValidImages'] as const) {
    if (!Number.isInteger(c[name]) || c[name] < 0) bad(name, `${name} must be a non-negative integer, got ${c[name]}`);
  }
  if (!(c.paramFreeDrop >= 0 && c.paramFreeDrop < 1)) bad('paramFreeDrop', `paramFreeDrop must be in [0, 1), got ${c.paramFreeDrop}`);
  if (c.archStartEpoch > c.warmupDecEpoch) {
    bad('archStartEpoch', `archStartEpoch (${c.archStartEpoch}) must not come after the first decision (warmupDecEpoch ${c.warmupDecEpoch}): that decision would read untrained alphas`);
  }
  if (c.imageSize && c.imageSize % 4 !== 0) bad('imageSize', `imageSize must be a multiple of 4 (two reductions need even sizes), got ${c.imageSize}`);
  if (!RECOMPUTE_MODES.includes(c.recompute)) bad('recompute', `recompute must be one of ${RECOMPUTE_MODES.join(', ')}, got ${c.recompute}`);
  if (NUM_EDGES !== 14) bad(null, 'the search space must have 14 edges');
}
