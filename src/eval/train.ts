// Training a genotype from scratch (SGAS.md §3, cnn/train.py): per epoch, SGD on every minibatch
// with the auxiliary loss, drop path and Cutout, then test loss and accuracy in eval mode (running
// BN statistics), then a checkpoint. Free of Node APIs, like the search loop.
import { crossEntropy, Sgd, Tape, Tensor, type Backend } from '../../runtime/index.ts';
import { Rng } from '../../runtime/rng.ts';
import { gatherBatch } from '../data/batches.ts';
import { checkSameClasses, dataInfoOf, dataInfoProblem, type DataInfo } from '../data/dataInfo.ts';
import { CIFAR10_STATS, FASHION_MNIST_STATS, type Dataset } from '../data/dataset.ts';
import { CIFAR10_CLASSES } from '../data/cifar.ts';
import { FASHION_MNIST_CLASSES } from '../data/idx.ts';
import { augmentBatch, cutoutBatch, firstImages, resizeDataset } from '../data/transforms.ts';
import { CheckpointError, decodeCheckpoint, encodeCheckpoint, type CheckpointFile } from '../search/checkpoint.ts';
import { parseGenotype, type Genotype } from '../search/genotype.ts';
import { dropPathProbAt, storedTrainConfig, trainLearningRateAt, validateTrainConfig, type TrainConfig } from './config.ts';
import { EvalNetwork } from './model.ts';
import { loadModuleTensors, moduleTensors, trainedModel, type SavedNetwork, type TrainedModel } from './modelFile.ts';
import { planTrainMemory, trainStep } from './step.ts';
import type { MemoryPlan } from '../train/memory.ts';
import { countCorrect, type LoopObserver, type LoopStep, type StoppedEpoch } from '../train/loop.ts';

/** loss is the training objective: CE + weight · auxiliary CE. */
export type TrainStepInfo = LoopStep;

export interface TrainEpochRecord {
  epoch: number;
  epochs: number;
  lr: number;
  dropPathProb: number;
  trainLoss: number;
  trainAccuracy: number;
  testLoss: number;
  testAccuracy: number;
  seconds: number;
  /** Whether this epoch's steps recomputed each cell in the backward (TrainConfig.recompute). */
  recomputeCells: boolean;
}

export type TrainObserver = LoopObserver<TrainStepInfo, TrainEpochRecord>;

/** The training images and the test images, subset and resized as the config says. */
export interface TrainData {
  train: Dataset;
  test: Dataset;
}

export function prepareTrainData(train: Dataset, test: Dataset, config: TrainConfig): TrainData {
  const shape = (d: Dataset, max: number) => {
    const subset = firstImages(d, max);
    return config.imageSize ? resizeDataset(subset, config.imageSize) : subset;
  };
  const data = { train: shape(train, config.maxImages), test: shape(test, config.maxTestImages) };
  const { height, width } = data.train;
  if (height % 4 || width % 4) {
    throw new Error(`training images must have sides divisible by 4 (two reductions halve them), got ${height}×${width}; set imageSize`);
  }
  if (data.train.n < config.batchSize) throw new Error(`${data.train.n} training images do not fill one batch of ${config.batchSize}`);
  return data;
}

interface SavedTrainState {
  format: 'sgas-train-v1';
  config: TrainConfig;
  genotype: Genotype;
  /** The classes, input size and normalisation the network was trained for: all predict needs. */
  dataInfo: DataInfo;
  /** Checkpoints written before dataInfo was kept say only this (and trained on Fashion-MNIST or CIFAR-10). */
  input?: { channels: number; height: number; width: number; classes: number };
  nextEpoch: number;
  /** Set when the run stopped mid-epoch; absent from epoch-end checkpoints. */
  inEpoch?: StoppedEpoch;
  rng: number[];
  sgdSteps: number[];
  records: TrainEpochRecord[];
}

export class Trainer {
  readonly net: EvalNetwork;
  private readonly sgd: Sgd;
  private rng: Rng;
  private nextEpoch = 0;
  readonly records: TrainEpochRecord[] = [];
  private stopRequested = false;
  private inEpoch: StoppedEpoch | null = null;
  private plan: Promise<MemoryPlan> | null = null;

  constructor(readonly backend: Backend, readonly config: TrainConfig, readonly genotype: Genotype, readonly data: TrainData) {
    validateTrainConfig(config);
    this.rng = new Rng(config.seed);
    this.net = buildNetwork(backend, config, genotype, data.train, this.rng);
    this.sgd = new Sgd(this.net.parameters(), { lr: config.learningRate, momentum: config.momentum, weightDecay: config.weightDecay });
  }

  get epoch(): number {
    return this.nextEpoch;
  }

  /** The classes, input size and normalisation of the training images: what the checkpoints carry. */
  get dataInfo(): DataInfo {
    return dataInfoOf(this.data.train);
  }

  get epochs(): number {
    return this.config.epochs;
  }

  get finished(): boolean {
    return this.nextEpoch >= this.config.epochs;
  }

  /** Full batches only: a one-image remainder would leave BatchNorm one value per channel at 1×1. */
  get stepsPerEpoch(): number {
    return Math.floor(this.data.train.n / this.config.batchSize);
  }

  /**
   * Asks the loop to stop after the step in progress. The epoch's progress is kept, so run() (or
   * a checkpoint taken now) continues exactly where it stopped; asked for between epochs, the stop
   * falls on the epoch's end.
   */
  requestStop(): void {
    this.stopRequested = true;
  }

  /** Where a run stopped mid-epoch stands; null between epochs. */
  get stoppedAt(): Readonly<StoppedEpoch> | null {
    return this.inEpoch;
  }

  /** Whether the steps recompute cells: TrainConfig.recompute, where 'auto' counts a step once. */
  async memoryPlan(): Promise<MemoryPlan> {
    const { train } = this.data;
    this.plan ??= planTrainMemory(this.config.recompute, this.config, this.net.config, this.genotype, train.height, this.backend);
    return this.plan;
  }

  /** Runs to the end (true), or until a requested stop (false), after which run() again continues. */
  async run(observer: TrainObserver = {}): Promise<boolean> {
    this.stopRequested = false;
    while (!this.finished && !this.stopRequested) {
      if (!(await this.runEpoch(observer))) return false;
    }
    return this.finished;
  }

  /** One epoch, or what is left of a stopped one; null if a stop came before its end. */
  async runEpoch(observer: TrainObserver): Promise<TrainEpochRecord | null> {
    const started = performance.now() - 1000 * (this.inEpoch?.seconds ?? 0);
    const epoch = this.nextEpoch;
    const lr = trainLearningRateAt(this.config, epoch);
    const dropPathProb = dropPathProbAt(this.config, epoch);
    this.sgd.lr = lr;
    const plan = await this.memoryPlan();
    this.net.recomputeCells = plan.recomputeCells;
    this.net.memory.keepInnerFromKernel = plan.keepInnerFromKernel;
    const train = await this.trainEpoch(epoch, lr, dropPathProb, observer, started);
    if (!train) return null;
    const test = await evaluate(this.net, this.data.test, this.config.batchSize);
    this.nextEpoch = epoch + 1;
    const record: TrainEpochRecord = {
      epoch, epochs: this.epochs, lr, dropPathProb, ...train, testLoss: test.loss, testAccuracy: test.accuracy,
      seconds: (performance.now() - started) / 1000, recomputeCells: this.net.recomputeCells,
    };
    this.records.push(record);
    // The checkpoint reads the device last: an epoch that got this far is whole wherever it is reported.
    const checkpoint = observer.checkpoint ? await this.checkpoint() : null;
    await observer.epoch?.(record);
    if (checkpoint) await observer.checkpoint?.(checkpoint, epoch);
    return record;
  }

  private async trainEpoch(
    epoch: number, lr: number, dropPathProb: number, observer: TrainObserver, started: number,
  ): Promise<{ trainLoss: number; trainAccuracy: number } | null> {
    const { train } = this.data;
    const { batchSize } = this.config;
    const resumed = this.inEpoch?.epoch === epoch ? this.inEpoch : null;
    this.inEpoch = null;
    const orderRng = resumed?.orderRng ?? this.rng.state();
    const order = (resumed ? Rng.fromState(orderRng) : this.rng).permutation(train.n);
    const steps = this.stepsPerEpoch;
    const drop = { keep: 1 - dropPathProb, rng: this.rng };
    let { lossSum, correct } = resumed ?? { lossSum: 0, correct: 0 };
    for (let step = resumed?.step ?? 0; step < steps; step++) {
      const b = gatherBatch(train, order.subarray(step * batchSize, (step + 1) * batchSize));
      if (this.config.cropPadding || this.config.flip) augmentBatch(b, this.rng, this.config.cropPadding, this.config.flip);
      if (this.config.cutout) cutoutBatch(b, this.rng, this.config.cutoutLength);
      const { loss: lossValue, logits: logitValues } = await trainStep(this.net, this.sgd, this.config, b, drop);
      if (!Number.isFinite(lossValue)) {
        throw new Error(`the training loss became ${lossValue} at epoch ${epoch + 1}, step ${step + 1}; the last good checkpoint is kept: lower --learning-rate and resume`);
      }
      lossSum += lossValue * batchSize;
      correct += countCorrect(logitValues, b.labels);
      const seen = (step + 1) * batchSize;
      await observer.step?.({ epoch, epochs: this.epochs, step: step + 1, steps, loss: lossSum / seen, accuracy: correct / seen, lr });
      if (this.stopRequested && step + 1 < steps) {
        this.inEpoch = { epoch, step: step + 1, steps, orderRng, lossSum, correct, seconds: (performance.now() - started) / 1000 };
        return null;
      }
    }
    const seen = Math.max(1, steps * batchSize);
    return { trainLoss: lossSum / seen, trainAccuracy: correct / seen };
  }

  /** Everything a run needs to continue exactly where it stands. */
  async checkpoint(): Promise<Uint8Array> {
    const tensors = await moduleTensors(this.net);
    const sgd = await this.sgd.save();
    sgd.buffers.forEach((bufs, i) => bufs.forEach((b, j) => tensors.set(`optim.sgd.${i}.${j}`, b)));
    const state: SavedTrainState = {
      format: 'sgas-train-v1', config: this.config, genotype: this.genotype, dataInfo: this.dataInfo,
      nextEpoch: this.nextEpoch, ...(this.inEpoch && { inEpoch: this.inEpoch }), rng: this.rng.state(), sgdSteps: sgd.steps, records: this.records,
    };
    return encodeCheckpoint(state, tensors);
  }

  /** Continues a run from its checkpoint; `train` and `test` are the raw splits it was started on. */
  static fromCheckpoint(backend: Backend, bytes: Uint8Array, train: Dataset, test: Dataset, source: string): Trainer {
    const checkpoint = readTrainCheckpoint(bytes, source);
    return Trainer.load(backend, checkpoint, prepareTrainData(train, test, checkpoint.state.config), source);
  }

  /** This run again on another backend (its device lost): from one of its checkpoints, or from the start. */
  restart(backend: Backend, checkpoint: Uint8Array | null): Trainer {
    if (!checkpoint) return new Trainer(backend, this.config, this.genotype, this.data);
    return Trainer.load(backend, readTrainCheckpoint(checkpoint, 'the last checkpoint'), this.data, 'the last checkpoint');
  }

  private static load(backend: Backend, { state, tensors }: CheckpointFile<SavedTrainState>, data: TrainData, source: string): Trainer {
    checkInput(state.dataInfo, data.train, source);
    const trainer = new Trainer(backend, state.config, state.genotype, data);
    loadModuleTensors(trainer.net, tensors, source);
    const buffers = state.sgdSteps.map((s, i) => (s ? [tensors.get(`optim.sgd.${i}.0`)!] : []));
    trainer.sgd.load({ steps: state.sgdSteps, buffers });
    trainer.rng = Rng.fromState(state.rng);
    trainer.nextEpoch = state.nextEpoch;
    trainer.inEpoch = state.inEpoch ?? null;
    trainer.records.push(...state.records);
    return trainer;
  }

  release(): void {
    this.sgd.release();
    this.net.release();
  }
}

/** A training checkpoint read and checked, before any network is built. */
export type TrainCheckpoint = ReturnType<typeof readTrainCheckpoint>;

/** What a training checkpoint holds, for eval and predict: the trained model and how it was trained. */
export interface TrainedNetwork extends TrainedModel {
  config: TrainConfig;
  epochs: number;
}

/** The trained network of a checkpoint, in eval mode (without the auxiliary head, which eval mode does not use). */
export function networkFromCheckpoint(backend: Backend, checkpoint: TrainCheckpoint, source: string): TrainedNetwork {
  const { config, nextEpoch } = checkpoint.state;
  return { ...trainedModel(backend, savedNetwork(checkpoint), source), config, epochs: nextEpoch };
}

/** The network of a training checkpoint's bytes on its own, with its data record (export, inference). */
export function trainedModelFromCheckpoint(backend: Backend, bytes: Uint8Array, source: string): TrainedModel {
  return trainedModel(backend, savedNetwork(readTrainCheckpoint(bytes, source)), source);
}

/** What the network of a checked training checkpoint is built from, before anything is put on a backend. */
export function savedNetwork({ state, tensors }: TrainCheckpoint): SavedNetwork {
  return { genotype: state.genotype, size: { C: state.config.initChannels, layers: state.config.layers }, dataInfo: state.dataInfo, tensors };
}

/** `data` brought to the network's input size as its run did, and checked against what it was trained on. */
export function dataForNetwork(trained: TrainedNetwork, data: Dataset, source: string): Dataset {
  const images = trained.config.imageSize ? resizeDataset(data, trained.config.imageSize) : data;
  checkInput(trained.dataInfo, images, source);
  return images;
}

function buildNetwork(backend: Backend, config: TrainConfig, genotype: Genotype, data: Dataset, rng: Rng): EvalNetwork {
  return new EvalNetwork(backend, {
    C: config.initChannels, layers: config.layers, classes: data.classes.length, inputChannels: data.channels,
    auxiliary: config.auxiliary, auxiliaryScaled: config.auxiliaryScaled,
  }, genotype, rng);
}

export function readTrainCheckpoint(bytes: Uint8Array, source: string) {
  const decoded = decodeCheckpoint<SavedTrainState>(bytes, source);
  const { state } = decoded;
  const format: string = state.format;
  if (format === 'sgas-search-v1') {
    throw new CheckpointError(`${source}: a search checkpoint holds no trained network; train its genotype first (sgas train --genotype <the search's folder>) and use the checkpoint.bin that writes`);
  }
  if (state.format !== 'sgas-train-v1') throw new CheckpointError(`${source}: not a training checkpoint (format ${state.format}); sgas train writes one`);
  // Validates again: the checkpoint may come from elsewhere.
  state.genotype = parseGenotype(JSON.stringify(state.genotype));
  state.config = storedTrainConfig(state.config);
  state.dataInfo ??= legacyDataInfo(state, source);
  const problem = dataInfoProblem(state.dataInfo);
  if (problem) throw new CheckpointError(`${source}: its data record ${problem}; train it again with sgas train`);
  // Checkpoints written before TrainConfig.recompute existed plan memory as new runs do.
  state.config = { ...state.config, recompute: state.config.recompute ?? 'auto' };
  return decoded;
}

/** The record of a checkpoint from before dataInfo: the two datasets there were, told apart by their channels. */
function legacyDataInfo(state: SavedTrainState, source: string): DataInfo {
  const input = state.input;
  if (!input || input.classes !== 10 || (input.channels !== 1 && input.channels !== 3)) throw new CheckpointError(`${source}: says nothing of the data it was trained on; train it again with this version of sgas`);
  const [classes, stats] = input.channels === 1 ? [FASHION_MNIST_CLASSES, FASHION_MNIST_STATS] : [CIFAR10_CLASSES, CIFAR10_STATS];
  return { classes, channels: input.channels, imageSize: [input.height, input.width], mean: [...stats.mean], std: [...stats.std], resize: 'bilinear', split: null };
}

function checkInput(want: DataInfo, data: Dataset, source: string): void {
  checkSameClasses(want.classes, data.classes, data.name, source);
  const [height, width] = want.imageSize;
  if (want.channels !== data.channels || height !== data.height || width !== data.width) {
    throw new CheckpointError(
      `${source}: trained on ${want.channels}×${height}×${width} images, ` +
      `but ${data.name} gives ${data.channels}×${data.height}×${data.width} (pass the --data the run used)`,
    );
  }
}

/**
 * Mean cross-entropy and accuracy over `data` in eval mode (running BN statistics), without
 * gradients, in batches of the training batch size as train.py's test queue (the buffers of
 * the training steps are then reused rather than joined by larger ones). onLogits sees each
 * batch's logits with the index of its first image.
 */
export async function evaluate(
  net: EvalNetwork, data: Dataset, batchSize: number, onLogits?: (start: number, logits: Float32Array) => void,
): Promise<{ loss: number; accuracy: number }> {
  const wasTraining = net.training;
  net.setTraining(false);
  let lossSum = 0;
  let correct = 0;
  try {
    for (let start = 0; start < data.n; start += batchSize) {
      const indices = Array.from({ length: Math.min(batchSize, data.n - start) }, (_, i) => start + i);
      const b = gatherBatch(data, indices);
      const tape = new Tape();
      try {
        const { loss, logits } = tape.run(() => Tape.noGrad(() => {
          const { logits } = net.forward(Tensor.from(net.backend, b.images, b.shape));
          return { loss: crossEntropy(logits, Tensor.from(net.backend, b.labels, [indices.length])), logits };
        }));
        const [lossValue, logitValues] = await Promise.all([loss.item(), logits.read()]);
        lossSum += lossValue * indices.length;
        correct += countCorrect(logitValues, b.labels);
        onLogits?.(start, logitValues);
      } finally {
        tape.dispose();
      }
    }
  } finally {
    net.setTraining(wasTraining);
  }
  return { loss: lossSum / data.n, accuracy: correct / data.n };
}
