// Training a genotype from scratch (SGAS.md §3, cnn/train.py): per epoch, SGD on every minibatch
// with the auxiliary loss, drop path and Cutout, then test loss and accuracy in eval mode (running
// BN statistics), then a checkpoint. Free of Node APIs, like the search loop.
import { crossEntropy, Sgd, Tape, Tensor, type Backend } from '../../runtime/index.ts';
import { Rng } from '../../runtime/rng.ts';
import { gatherBatch } from '../data/batches.ts';
import type { Dataset } from '../data/dataset.ts';
import { augmentBatch, cutoutBatch, firstImages, resizeDataset } from '../data/transforms.ts';
import { CheckpointError, decodeCheckpoint, encodeCheckpoint } from '../search/checkpoint.ts';
import { parseGenotype, type Genotype } from '../search/genotype.ts';
import { dropPathProbAt, trainLearningRateAt, validateTrainConfig, type TrainConfig } from './config.ts';
import { EvalNetwork } from './model.ts';
import { modelDataInfo } from './modelData.ts';
import { loadModuleTensors, moduleTensors, plainBytes, trainedModel, type SavedNetwork, type TrainedModel } from './modelFile.ts';
import { planTrainMemory, trainStep } from './step.ts';
import type { MemoryPlan } from '../train/memory.ts';
import { countCorrect, type LoopObserver, type LoopStep } from '../train/loop.ts';

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

export interface SavedTrainState {
  format: 'sgas-train-v1';
  config: TrainConfig;
  genotype: Genotype;
  /** What the network was built for, checked again when the checkpoint is evaluated. */
  input: { channels: number; height: number; width: number; classes: number };
  nextEpoch: number;
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

  /** Asks the loop to stop once the current epoch ends (its checkpoint is still written). */
  requestStop(): void {
    this.stopRequested = true;
  }

  /** Whether the steps recompute cells: TrainConfig.recompute, where 'auto' counts a step once. */
  async memoryPlan(): Promise<MemoryPlan> {
    const { train } = this.data;
    this.plan ??= planTrainMemory(this.config.recompute, this.config, this.net.config, this.genotype, train.height, this.backend);
    return this.plan;
  }

  async run(observer: TrainObserver = {}): Promise<TrainEpochRecord[]> {
    this.stopRequested = false;
    while (!this.finished && !this.stopRequested) await this.runEpoch(observer);
    return this.records;
  }

  async runEpoch(observer: TrainObserver): Promise<TrainEpochRecord> {
    const started = performance.now();
    const epoch = this.nextEpoch;
    const lr = trainLearningRateAt(this.config, epoch);
    const dropPathProb = dropPathProbAt(this.config, epoch);
    this.sgd.lr = lr;
    this.net.recomputeCells = (await this.memoryPlan()).recomputeCells;
    const train = await this.trainEpoch(epoch, lr, dropPathProb, observer);
    const test = await evaluate(this.net, this.data.test, this.config.batchSize);
    this.nextEpoch = epoch + 1;
    const record: TrainEpochRecord = {
      epoch, epochs: this.epochs, lr, dropPathProb, ...train, testLoss: test.loss, testAccuracy: test.accuracy,
      seconds: (performance.now() - started) / 1000, recomputeCells: this.net.recomputeCells,
    };
    this.records.push(record);
    await observer.epoch?.(record);
    await observer.checkpoint?.(await this.checkpoint(), epoch);
    return record;
  }

  private async trainEpoch(epoch: number, lr: number, dropPathProb: number, observer: TrainObserver): Promise<{ trainLoss: number; trainAccuracy: number }> {
    const { train } = this.data;
    const { batchSize } = this.config;
    const order = this.rng.permutation(train.n);
    const steps = this.stepsPerEpoch;
    const drop = { keep: 1 - dropPathProb, rng: this.rng };
    let lossSum = 0;
    let correct = 0;
    for (let step = 0; step < steps; step++) {
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
    }
    const seen = Math.max(1, steps * batchSize);
    return { trainLoss: lossSum / seen, trainAccuracy: correct / seen };
  }

  /** Everything a run needs to continue exactly where it stands. */
  async checkpoint(): Promise<Uint8Array> {
    const tensors = await moduleTensors(this.net);
    const sgd = await this.sgd.save();
    sgd.buffers.forEach((bufs, i) => bufs.forEach((b, j) => tensors.set(`optim.sgd.${i}.${j}`, b)));
    const { channels, height, width, classes } = this.data.train;
    const state: SavedTrainState = {
      format: 'sgas-train-v1', config: this.config, genotype: this.genotype, input: { channels, height, width, classes },
      nextEpoch: this.nextEpoch, rng: this.rng.state(), sgdSteps: sgd.steps, records: this.records,
    };
    return encodeCheckpoint(state, tensors);
  }

  /** Continues a run from its checkpoint; `train` and `test` are the raw splits it was started on. */
  static fromCheckpoint(backend: Backend, bytes: Uint8Array, train: Dataset, test: Dataset, source: string): Trainer {
    const { state, tensors } = decodeTrainCheckpoint(bytes, source);
    // Checkpoints written before TrainConfig.recompute existed plan memory as new runs do.
    state.config = { ...state.config, recompute: state.config.recompute ?? 'auto' };
    const data = prepareTrainData(train, test, state.config);
    checkInput(state, data.train, source);
    const trainer = new Trainer(backend, state.config, state.genotype, data);
    loadModuleTensors(trainer.net, tensors, source);
    const buffers = state.sgdSteps.map((s, i) => (s ? [tensors.get(`optim.sgd.${i}.0`)!] : []));
    trainer.sgd.load({ steps: state.sgdSteps, buffers });
    trainer.rng = Rng.fromState(state.rng);
    trainer.nextEpoch = state.nextEpoch;
    trainer.records.push(...state.records);
    return trainer;
  }

  release(): void {
    this.sgd.release();
    this.net.release();
  }
}

/** A trained network from a checkpoint, in eval mode, and `data` resized as its run resized images. */
export function networkFromCheckpoint(backend: Backend, bytes: Uint8Array, data: Dataset, source: string): { net: EvalNetwork; images: Dataset; config: TrainConfig; epochs: number } {
  const { state, tensors } = decodeTrainCheckpoint(bytes, source);
  const images = state.config.imageSize ? resizeDataset(data, state.config.imageSize) : data;
  checkInput(state, images, source);
  const net = buildNetwork(backend, state.config, state.genotype, images, new Rng(state.config.seed));
  loadModuleTensors(net, tensors, source);
  net.setTraining(false);
  return { net, images, config: state.config, epochs: state.nextEpoch };
}

/** The trained network of a training checkpoint on its own, with what it expects of images (export, inference). */
export function trainedModelFromCheckpoint(backend: Backend, bytes: Uint8Array, source: string): TrainedModel {
  return trainedModel(backend, readTrainedNetwork(bytes, source), source);
}

/** Checks and reads a training checkpoint's network without a backend, so a bad one fails before any GPU work. */
export function readTrainedNetwork(bytes: Uint8Array, source: string): SavedNetwork {
  const { state, tensors } = decodeTrainCheckpoint(plainBytes(bytes), source);
  return { genotype: state.genotype, size: { C: state.config.initChannels, layers: state.config.layers }, data: modelDataInfo(state), tensors };
}

function buildNetwork(backend: Backend, config: TrainConfig, genotype: Genotype, data: Dataset, rng: Rng): EvalNetwork {
  return new EvalNetwork(backend, {
    C: config.initChannels, layers: config.layers, classes: data.classes, inputChannels: data.channels, auxiliary: config.auxiliary,
  }, genotype, rng);
}

function decodeTrainCheckpoint(bytes: Uint8Array, source: string) {
  const decoded = decodeCheckpoint<SavedTrainState>(bytes, source);
  const { state } = decoded;
  const format: string = state.format;
  if (format === 'sgas-search-v1') {
    throw new CheckpointError(`${source}: a search checkpoint holds no trained network; train its genotype first (sgas train --genotype <the search's folder>) and use the checkpoint.bin that writes`);
  }
  if (state.format !== 'sgas-train-v1') throw new CheckpointError(`${source}: not a training checkpoint (format ${state.format}); sgas train writes one`);
  // Validates again: the checkpoint may come from elsewhere.
  state.genotype = parseGenotype(JSON.stringify(state.genotype));
  return decoded;
}

function checkInput(state: SavedTrainState, data: Dataset, source: string): void {
  const want = state.input;
  if (want.channels !== data.channels || want.height !== data.height || want.width !== data.width || want.classes !== data.classes) {
    throw new CheckpointError(
      `${source}: trained on ${want.channels}×${want.height}×${want.width} images of ${want.classes} classes, ` +
      `but ${data.name} gives ${data.channels}×${data.height}×${data.width} (pass the --data the run used)`,
    );
  }
}

/**
 * Mean cross-entropy and accuracy over `data` in eval mode (running BN statistics), without
 * gradients, in batches of the training batch size as train.py's test queue (the buffers of
 * the training steps are then reused rather than joined by larger ones).
 */
export async function evaluate(net: EvalNetwork, data: Dataset, batchSize: number): Promise<{ loss: number; accuracy: number }> {
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
      } finally {
        tape.dispose();
      }
    }
  } finally {
    net.setTraining(wasTraining);
  }
  return { loss: lossSum / data.n, accuracy: correct / data.n };
}
