// One search step as Search.trainEpoch runs it (the Architect on a validation batch, then the
// weights on a training batch), and what that step needs in memory, counted before any real work.
import { clipGradNorm, Sgd, Tensor, Tape, type Backend } from '../../runtime/index.ts';
import { CountingBackend } from '../../runtime/countingBackend.ts';
import { Rng } from '../../runtime/rng.ts';
import { Architect, lossGradients, releaseGrads, type LabelledBatch } from './architect.ts';
import { learningRateAt, type SearchConfig } from './config.ts';
import { Network, type EdgeSelection, type NetworkConfig } from './model.ts';
import type { CellType } from './space.ts';
import { planMemory, type MemoryPlan, type RecomputeMode } from '../train/memory.ts';

export interface WeightStepResult {
  loss: number;
  logits: Float32Array;
  /** The gradient norm before clipping (0 when clipping is off). */
  norm: number;
}

/** Forward and backward to the weights, clipping, SGD with momentum and weight decay; the loss, logits and norm read back. */
export async function weightStep(net: Network, sgd: Sgd, batch: LabelledBatch, gradClip: number): Promise<WeightStepResult> {
  net.setRequiresGrad(true, false);
  const { loss, logits } = lossGradients(net, batch);
  const normCoef = clipGradNorm(net.parameters(), gradClip);
  sgd.step();
  releaseGrads(net.parameters());
  try {
    const [lossValue, logitValues, norm] = await Promise.all([loss.item(), logits.read(), normCoef ? normCoef.item() : 0]);
    return { loss: lossValue, logits: logitValues, norm };
  } finally {
    loss.release();
    logits.release();
    normCoef?.release();
  }
}

export interface StepShape {
  network: NetworkConfig;
  /** Images are side × side. */
  side: number;
  batchSize: number;
  selection?: Record<CellType, EdgeSelection>;
  recomputeCells: boolean;
  /** OpMemory.keepInnerFromKernel (default Infinity: nothing kept). */
  keepInnerFromKernel?: number;
}

/**
 * The most bytes a search step holds at once (model, optimizer state and batches included), counted
 * on a backend that computes nothing; `sizeClass` rounds each buffer as the real backend would.
 */
export async function searchStepPeakBytes(config: SearchConfig, shape: StepShape, sizeClass?: (bytes: number) => number): Promise<number> {
  const backend = new CountingBackend(sizeClass);
  const net = new Network(backend, shape.network, new Rng(0));
  const sgd = new Sgd(net.parameters(), { lr: config.learningRate, momentum: config.momentum, weightDecay: config.weightDecay });
  const architect = new Architect(net, config);
  net.recomputeCells = shape.recomputeCells;
  net.memory.keepInnerFromKernel = shape.keepInnerFromKernel ?? Infinity;
  // The dropped outputs are buffers of their own, kept for the alphas' gradients.
  if (config.paramFreeDrop) net.paramFreeDrop = { keep: 1 - config.paramFreeDrop, rng: new Rng(0) };
  net.keepPrunedEdges = config.keepPrunedEdges;
  if (shape.selection) for (const type of ['normal', 'reduce'] as const) net.selection[type].splice(0, Infinity, ...shape.selection[type]);
  const batch = (): LabelledBatch => {
    const { network: { inputChannels }, side } = shape;
    return Tape.outside(() => ({
      x: Tensor.empty(backend, [shape.batchSize, inputChannels, side, side]),
      y: Tensor.zeros(backend, [shape.batchSize]),
    }));
  };
  const train = batch();
  const valid = batch();
  try {
    // Twice: the first step creates the optimizers' state, which the second one holds throughout.
    for (let round = 0; round < 2; round++) {
      await architect.step(valid, train, learningRateAt(config, 0), sgd);
      await weightStep(net, sgd, train, config.gradClip);
    }
    return backend.peakBytes;
  } finally {
    for (const t of [train.x, train.y, valid.x, valid.y]) t.release();
    architect.adam.release();
    sgd.release();
    net.release();
  }
}

/** Whether to recompute cells (SearchConfig.recompute), counting the step where 'auto' needs it. */
export function planSearchMemory(mode: RecomputeMode, config: SearchConfig, shape: Omit<StepShape, 'recomputeCells'>, backend: Backend): Promise<MemoryPlan> {
  return planMemory(mode, backend, (sizeClass, keepInnerFromKernel) => searchStepPeakBytes(config, { ...shape, recomputeCells: false, keepInnerFromKernel }, sizeClass));
}
