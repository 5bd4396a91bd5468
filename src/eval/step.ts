// One training step of an evaluation network as Trainer runs it (drop path, auxiliary loss,
// clipping, SGD), and what that step needs in memory, counted before any real work.
import { add, clipGradNorm, crossEntropy, scale, Sgd, Tape, Tensor, type Backend } from '../../runtime/index.ts';
import { CountingBackend } from '../../runtime/countingBackend.ts';
import { Rng } from '../../runtime/rng.ts';
import type { Batch } from '../data/batches.ts';
import type { Genotype } from '../search/genotype.ts';
import { planMemory, type MemoryPlan, type RecomputeMode } from '../train/memory.ts';
import type { TrainConfig } from './config.ts';
import type { DropPathSetting } from '../nn/operations.ts';
import { EvalNetwork, type EvalNetworkConfig } from './model.ts';

/** The objective (CE + weight · auxiliary CE) and the logits, read back after the SGD step. */
export async function trainStep(net: EvalNetwork, sgd: Sgd, config: TrainConfig, batch: Batch, drop: DropPathSetting): Promise<{ loss: number; logits: Float32Array }> {
  const tape = new Tape();
  try {
    const { loss, logits } = tape.run(() => {
      const labels = Tensor.from(net.backend, batch.labels, [batch.labels.length]);
      const out = net.forward(Tensor.from(net.backend, batch.images, batch.shape), drop);
      const main = crossEntropy(out.logits, labels);
      const loss = out.auxLogits ? add(main, scale(crossEntropy(out.auxLogits, labels), config.auxiliaryWeight)) : main;
      return { loss, logits: out.logits };
    });
    tape.backward(loss);
    const normCoef = clipGradNorm(sgd.params, config.gradClip);
    sgd.step();
    sgd.zeroGrad();
    const [lossValue, logitValues] = await Promise.all([loss.item(), logits.read()]);
    normCoef?.release();
    return { loss: lossValue, logits: logitValues };
  } finally {
    tape.dispose();
  }
}

/** The most bytes a training step holds at once (model and SGD state included), computing nothing. */
export async function trainStepPeakBytes(
  config: TrainConfig, network: EvalNetworkConfig, genotype: Genotype, side: number, recomputeCells: boolean, sizeClass?: (bytes: number) => number,
  keepInnerFromKernel = Infinity,
): Promise<number> {
  const backend = new CountingBackend(sizeClass);
  const net = new EvalNetwork(backend, network, genotype, new Rng(0));
  net.recomputeCells = recomputeCells;
  net.memory.keepInnerFromKernel = keepInnerFromKernel;
  const sgd = new Sgd(net.parameters(), { lr: config.learningRate, momentum: config.momentum, weightDecay: config.weightDecay });
  const batch: Batch = {
    images: new Float32Array(config.batchSize * network.inputChannels * side * side),
    labels: new Float32Array(config.batchSize),
    shape: [config.batchSize, network.inputChannels, side, side],
  };
  try {
    // Twice: the first step creates SGD's momentum buffers, which the second one holds throughout.
    for (let round = 0; round < 2; round++) await trainStep(net, sgd, config, batch, { keep: 1 - config.dropPathProb, rng: new Rng(0) });
    return backend.peakBytes;
  } finally {
    sgd.release();
    net.release();
  }
}

/** Whether to recompute cells (TrainConfig.recompute), counting the step where 'auto' needs it. */
export function planTrainMemory(
  mode: RecomputeMode, config: TrainConfig, network: EvalNetworkConfig, genotype: Genotype, side: number, backend: Backend,
): Promise<MemoryPlan> {
  return planMemory(mode, backend, (sizeClass, keepInnerFromKernel) => trainStepPeakBytes(config, network, genotype, side, false, sizeClass, keepInnerFromKernel));
}
