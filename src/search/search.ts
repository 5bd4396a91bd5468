// The SGAS search loop (SGAS.md §2.4–2.5): per epoch, Architect then weight step on every
// minibatch, validation with running BN statistics, an edge decision per cell type, a checkpoint.
// Free of Node APIs: the CLI and the web page observe it and store what it hands them.
import { crossEntropy, Sgd, Tape, Tensor, type Backend } from '../../runtime/index.ts';
import { Rng } from '../../runtime/rng.ts';
import { gatherBatch } from '../data/batches.ts';
import { checkSameClasses, dataInfoOf, type DataInfo } from '../data/dataInfo.ts';
import type { Dataset } from '../data/dataset.ts';
import { augmentBatch, firstImages, resizeDataset } from '../data/transforms.ts';
import { Architect, type LabelledBatch } from './architect.ts';
import { CheckpointError, decodeCheckpoint, encodeCheckpoint, type CheckpointFile } from './checkpoint.ts';
import { learningRateAt, searchEpochs, storedSearchConfig, validateConfig, type SearchConfig } from './config.ts';
import { decideEdge, initialDecisionState, rowSoftmax, type DecisionState, type EdgeStats } from './edgeDecision.ts';
import { genotypeFromGenes, parseGene, parseGeneForce, type Genotype } from './genotype.ts';
import { Network } from './model.ts';
import { planSearchMemory, weightStep } from './step.ts';
import type { MemoryPlan } from '../train/memory.ts';
import { NUM_EDGES, PRIMITIVES, type CellType } from './space.ts';
import { countCorrect, type LoopObserver, type LoopStep, type StoppedEpoch } from '../train/loop.ts';

export interface StepInfo extends LoopStep {
  batchSize: number;
}

export interface CellEpochRecord {
  alphas: number[][];
  importance: number[];
  certainty: number[];
  stability: number[];
  score: number[];
  decided: { edge: number; op: string } | null;
  selectedIdxs: number[];
  candidateFlags: boolean[];
}

export interface EpochRecord {
  epoch: number;
  epochs: number;
  lr: number;
  batchSize: number;
  trainLoss: number;
  trainAccuracy: number;
  validLoss: number;
  validAccuracy: number;
  seconds: number;
  /** Whether this epoch's steps recomputed each cell in the backward (SearchConfig.recompute). */
  recomputeCells: boolean;
  cells: Record<CellType, CellEpochRecord>;
  /** The genotype if the search stopped now (forced parse of the undecided nodes). */
  genotype: Genotype;
}

export type SearchObserver = LoopObserver<StepInfo, EpochRecord>;

export interface SearchResult {
  genotype: Genotype;
  alphas: Record<CellType, number[][]>;
  epochs: number;
}

export class SearchDivergedError extends Error {
  override name = 'SearchDivergedError';
}

/** A stopped epoch, with the images its steps have seen (a search's batch grows). */
export interface EpochProgress extends StoppedEpoch {
  seen: number;
}

interface SavedState {
  format: 'sgas-search-v1';
  config: SearchConfig;
  /** The data the search ran on (absent from checkpoints written before it was kept). */
  dataInfo?: DataInfo;
  nextEpoch: number;
  /** Set when the search stopped mid-epoch; absent from epoch-end checkpoints. */
  inEpoch?: EpochProgress;
  batchSize: number;
  decisions: Record<CellType, DecisionState>;
  rng: number[];
  sgdSteps: number[];
  adamSteps: number[];
  records: EpochRecord[];
}

const CELL_TYPES: CellType[] = ['normal', 'reduce'];

/** The training and validation halves of the (resized, subset) training images. */
export interface SearchData {
  images: Dataset;
  train: number[];
  valid: number[];
}

/** A new search's config on its data: an image folder is searched at the size it was loaded at (a preset's imageSize is for IDX and CIFAR-10). */
export function withDataImageSize(config: SearchConfig, data: Dataset): SearchConfig {
  return data.files ? { ...config, imageSize: data.height } : config;
}

export function prepareSearchData(train: Dataset, config: SearchConfig): SearchData {
  let images = firstImages(train, config.maxImages);
  if (config.imageSize) images = resizeDataset(images, config.imageSize);
  if (images.height % 4 || images.width % 4) {
    throw new Error(`search images must have sides divisible by 4 (two reductions halve them), got ${images.height}×${images.width}; set imageSize`);
  }
  const split = Math.floor(config.trainPortion * images.n);
  if (split < 2 || images.n - split < 2) throw new Error(`too few images (${images.n}) to split into training and validation halves`);
  return { images, train: range(0, split), valid: range(split, images.n) };
}

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

export class Search {
  readonly net: Network;
  readonly epochs: number;
  private readonly sgd: Sgd;
  private readonly architect: Architect;
  private rng: Rng;
  private nextEpoch = 0;
  private batchSize: number;
  private decisions: Record<CellType, DecisionState> = { normal: initialDecisionState(), reduce: initialDecisionState() };
  readonly records: EpochRecord[] = [];
  private stopRequested = false;
  private inEpoch: EpochProgress | null = null;
  private plan: { key: string; plan: MemoryPlan } | null = null;

  constructor(readonly backend: Backend, readonly config: SearchConfig, readonly data: SearchData) {
    validateConfig(config);
    this.rng = new Rng(config.seed);
    this.net = new Network(backend, {
      C: config.initChannels, layers: config.layers, classes: data.images.classes.length,
      inputChannels: data.images.channels, stemMultiplier: config.stemMultiplier,
    }, this.rng);
    this.net.keepPrunedEdges = config.keepPrunedEdges;
    this.sgd = new Sgd(this.net.parameters(), { lr: config.learningRate, momentum: config.momentum, weightDecay: config.weightDecay });
    this.architect = new Architect(this.net, config);
    this.batchSize = config.batchSize;
    this.epochs = searchEpochs(config);
  }

  get epoch(): number {
    return this.nextEpoch;
  }

  /** The classes, input size and normalisation of the images searched on. */
  get dataInfo(): DataInfo {
    return dataInfoOf(this.data.images);
  }

  get finished(): boolean {
    return this.nextEpoch >= this.epochs;
  }

  /**
   * Asks the loop to stop after the step in progress. The epoch's progress is kept, so run() (or
   * a checkpoint taken now) continues exactly where it stopped; asked for between epochs (as from
   * the checkpoint observer), the stop falls on the epoch's end.
   */
  requestStop(): void {
    this.stopRequested = true;
  }

  /** Where a search stopped mid-epoch stands; null between epochs. */
  get stoppedAt(): Readonly<EpochProgress> | null {
    return this.inEpoch;
  }

  /**
   * Whether the coming epoch's steps recompute cells: SearchConfig.recompute, where 'auto' counts
   * the step at the current batch size and decisions (a fraction of a second) when they change.
   */
  async memoryPlan(): Promise<MemoryPlan> {
    const key = `${this.batchSize} ${this.net.selection.normal} ${this.net.selection.reduce}`;
    if (this.plan?.key !== key) {
      const plan = await planSearchMemory(this.config.recompute, this.config, {
        network: this.net.config, side: this.data.images.height, batchSize: Math.min(this.batchSize, this.data.train.length), selection: this.net.selection,
      }, this.backend);
      this.plan = { key, plan };
    }
    return this.plan.plan;
  }

  /** Runs to the end, or until a requested stop: then null, and run() again continues. */
  async run(observer: SearchObserver = {}): Promise<SearchResult | null> {
    this.stopRequested = false;
    while (!this.finished && !this.stopRequested) {
      if (!(await this.runEpoch(observer))) return null;
    }
    return this.finished ? this.result() : null;
  }

  /** One epoch, or what is left of a stopped one; null if a stop came before its end. */
  async runEpoch(observer: SearchObserver): Promise<EpochRecord | null> {
    const started = performance.now() - 1000 * (this.inEpoch?.seconds ?? 0);
    const epoch = this.nextEpoch;
    const lr = learningRateAt(this.config, epoch);
    this.sgd.lr = lr;
    const plan = await this.memoryPlan();
    this.net.recomputeCells = plan.recomputeCells;
    this.net.memory.keepInnerFromKernel = plan.keepInnerFromKernel;
    const train = await this.trainEpoch(epoch, lr, observer, started);
    if (!train) return null;
    const valid = await this.validate();
    const cells = {} as Record<CellType, CellEpochRecord>;
    let decided = false;
    const alphas = await this.alphaValues();
    for (const type of CELL_TYPES) {
      const d = decideEdge(this.decisions[type], alphas[type], epoch, {
        useHistory: this.config.criterion === 2, warmupDecEpoch: this.config.warmupDecEpoch,
        decisionFreq: this.config.decisionFreq, historySize: this.config.historySize,
      });
      this.decisions[type] = d.state;
      this.net.selection[type].splice(0, NUM_EDGES, ...d.state.selectedIdxs);
      decided ||= d.isDecision;
      cells[type] = cellRecord(d.stats, d.state, d.isDecision ? { edge: d.selectedEdge!, op: PRIMITIVES[d.selectedOp!]! } : null, this.config);
    }
    if (decided) this.batchSize += this.config.batchIncrease;
    this.nextEpoch = epoch + 1;
    const record: EpochRecord = {
      epoch, epochs: this.epochs, lr, batchSize: this.batchSize, ...train, ...valid,
      seconds: (performance.now() - started) / 1000, recomputeCells: this.net.recomputeCells, cells, genotype: this.forcedGenotype(alphas),
    };
    this.records.push(record);
    // The checkpoint reads the device last: an epoch that got this far is whole wherever it is reported.
    const checkpoint = observer.checkpoint ? await this.checkpoint() : null;
    await observer.epoch?.(record);
    if (checkpoint) await observer.checkpoint?.(checkpoint, epoch);
    return record;
  }

  private async trainEpoch(epoch: number, lr: number, observer: SearchObserver, started: number): Promise<{ trainLoss: number; trainAccuracy: number } | null> {
    const { train } = this.data;
    const resumed = this.inEpoch?.epoch === epoch ? this.inEpoch : null;
    this.inEpoch = null;
    const orderRng = resumed?.orderRng ?? this.rng.state();
    const order = (resumed ? Rng.fromState(orderRng) : this.rng).permutation(train.length);
    const batchSize = Math.min(this.batchSize, train.length);
    // Full batches only: BatchNorm over a one-image remainder at 1×1 would be degenerate.
    const steps = Math.floor(train.length / batchSize);
    let { lossSum, correct, seen } = resumed ?? { lossSum: 0, correct: 0, seen: 0 };
    for (let step = resumed?.step ?? 0; step < steps; step++) {
      const trainBatch = this.batch(Array.from(order.subarray(step * batchSize, (step + 1) * batchSize), (i) => train[i]!));
      const validBatch = epoch >= this.config.archStartEpoch ? this.batch(this.sampleValid(batchSize)) : null;
      const { paramFreeDrop } = this.config;
      this.net.paramFreeDrop = paramFreeDrop ? { keep: 1 - paramFreeDrop, rng: this.rng } : null;
      try {
        if (validBatch) await this.architect.step(validBatch, trainBatch, lr, this.sgd);
        const { loss: lossValue, logits: logitValues, norm } = await weightStep(this.net, this.sgd, trainBatch, this.config.gradClip);
        if (!Number.isFinite(lossValue) || !Number.isFinite(norm)) {
          throw new SearchDivergedError(
            `the ${Number.isFinite(lossValue) ? 'gradient norm' : 'loss'} became ${Number.isFinite(lossValue) ? norm : lossValue} at epoch ${epoch + 1}, step ${step + 1}; ` +
            'the last good checkpoint is kept: lower --learning-rate or --arch-learning-rate and resume',
          );
        }
        lossSum += lossValue * batchSize;
        correct += countCorrect(logitValues, await trainBatch.y.read());
        seen += batchSize;
        await observer.step?.({
          epoch, epochs: this.epochs, step: step + 1, steps, loss: lossSum / seen, accuracy: correct / seen, lr, batchSize,
        });
      } finally {
        this.net.paramFreeDrop = null;
        for (const t of [trainBatch, validBatch].flatMap((b) => (b ? [b.x, b.y] : []))) t.release();
      }
      if (this.stopRequested) {
        this.inEpoch = { epoch, step: step + 1, steps, orderRng, lossSum, correct, seen, seconds: (performance.now() - started) / 1000 };
        return null;
      }
    }
    return { trainLoss: lossSum / Math.max(1, seen), trainAccuracy: correct / Math.max(1, seen) };
  }

  /** A fresh random validation batch each step (the reference builds a new loader iterator). */
  private sampleValid(size: number): number[] {
    const { valid } = this.data;
    const pick = this.rng.permutation(valid.length).subarray(0, Math.min(size, valid.length));
    return Array.from(pick, (i) => valid[i]!);
  }

  private batch(indices: number[]): LabelledBatch {
    const b = gatherBatch(this.data.images, indices);
    if (this.config.cropPadding || this.config.flip) augmentBatch(b, this.rng, this.config.cropPadding, this.config.flip);
    return Tape.outside(() => ({ x: Tensor.from(this.backend, b.images, b.shape), y: Tensor.from(this.backend, b.labels, [indices.length]) }));
  }

  /** Validation loss and accuracy in eval mode (running BN statistics), as infer() logs them. */
  async validate(): Promise<{ validLoss: number; validAccuracy: number }> {
    const { images, valid } = this.data;
    const count = this.config.maxValidImages ? Math.min(this.config.maxValidImages, valid.length) : valid.length;
    const batchSize = Math.max(2, Math.min(256, this.batchSize));
    this.net.setTraining(false);
    this.net.setRequiresGrad(false, false);
    let lossSum = 0;
    let correct = 0;
    try {
      for (let start = 0; start < count; start += batchSize) {
        const indices = valid.slice(start, Math.min(count, start + batchSize));
        const b = gatherBatch(images, indices);
        const tape = new Tape();
        const { loss, logits, labels } = tape.run(() => {
          const x = Tensor.from(this.backend, b.images, b.shape);
          const labels = Tensor.from(this.backend, b.labels, [indices.length]);
          const logits = this.net.forward(x);
          return { loss: crossEntropy(logits, labels), logits, labels };
        });
        lossSum += (await loss.item()) * indices.length;
        correct += countCorrect(await logits.read(), await labels.read());
        tape.dispose();
      }
    } finally {
      this.net.setTraining(true);
    }
    return { validLoss: lossSum / count, validAccuracy: correct / count };
  }

  private async alphaValues(): Promise<Record<CellType, number[][]>> {
    const out = {} as Record<CellType, number[][]>;
    for (const type of CELL_TYPES) out[type] = await Promise.all(this.net.alphas[type].map(async (a) => Array.from(await a.read())));
    return out;
  }

  private forcedGenotype(alphas: Record<CellType, number[][]>): Genotype {
    const gene = (type: CellType) => parseGeneForce(this.decisions[type].selectedIdxs, this.decisions[type].candidateFlags, alphas[type]);
    return genotypeFromGenes(gene('normal'), gene('reduce'));
  }

  async result(): Promise<SearchResult> {
    const alphas = await this.alphaValues();
    return {
      genotype: genotypeFromGenes(parseGene(this.decisions.normal.selectedIdxs, 'normal'), parseGene(this.decisions.reduce.selectedIdxs, 'reduce')),
      alphas: { normal: rowSoftmax(alphas.normal), reduce: rowSoftmax(alphas.reduce) },
      epochs: this.nextEpoch,
    };
  }

  /** Everything a search needs to continue exactly where it stands. */
  async checkpoint(): Promise<Uint8Array> {
    const tensors = new Map<string, Float32Array>();
    for (const [name, t] of [...this.net.namedParameters(), ...this.net.namedBuffers()]) tensors.set(name, await t.read());
    for (const a of this.net.alphaParameters()) tensors.set(a.name, await a.read());
    const sgd = await this.sgd.save();
    const adam = await this.architect.adam.save();
    sgd.buffers.forEach((bufs, i) => bufs.forEach((b, j) => tensors.set(`optim.sgd.${i}.${j}`, b)));
    adam.buffers.forEach((bufs, i) => bufs.forEach((b, j) => tensors.set(`optim.adam.${i}.${j}`, b)));
    const state: SavedState = {
      format: 'sgas-search-v1', config: this.config, dataInfo: this.dataInfo, nextEpoch: this.nextEpoch, ...(this.inEpoch && { inEpoch: this.inEpoch }), batchSize: this.batchSize,
      decisions: this.decisions, rng: this.rng.state(), sgdSteps: sgd.steps, adamSteps: adam.steps, records: this.records,
    };
    return encodeCheckpoint(state, tensors);
  }

  static fromCheckpoint(backend: Backend, bytes: Uint8Array, data: Dataset, source: string): Search {
    const checkpoint = decodeSearchCheckpoint(bytes, source);
    const { dataInfo, config } = checkpoint.state;
    if (dataInfo) checkSameClasses(dataInfo.classes, data.classes, data.name, source);
    return Search.load(backend, checkpoint, prepareSearchData(data, config), source);
  }

  /** This search again on another backend (its device lost): from one of its checkpoints, or from the start. */
  restart(backend: Backend, checkpoint: Uint8Array | null): Search {
    if (!checkpoint) return new Search(backend, this.config, this.data);
    return Search.load(backend, decodeSearchCheckpoint(checkpoint, 'the last checkpoint'), this.data, 'the last checkpoint');
  }

  private static load(backend: Backend, { state, tensors }: CheckpointFile<SavedState>, data: SearchData, source: string): Search {
    const search = new Search(backend, state.config, data);
    const take = (name: string, t: Tensor) => {
      const values = tensors.get(name);
      if (!values || values.length !== t.size) throw new CheckpointError(`${source}: tensor '${name}' is missing or has the wrong size`);
      t.write(values);
    };
    for (const [name, t] of [...search.net.namedParameters(), ...search.net.namedBuffers()]) take(name, t);
    for (const a of search.net.alphaParameters()) take(a.name, a);
    const buffersOf = (prefix: string, steps: number[], perParam: number) =>
      steps.map((s, i) => (s ? Array.from({ length: perParam }, (_, j) => tensors.get(`${prefix}.${i}.${j}`)!) : []));
    search.sgd.load({ steps: state.sgdSteps, buffers: buffersOf('optim.sgd', state.sgdSteps, 1) });
    search.architect.adam.load({ steps: state.adamSteps, buffers: buffersOf('optim.adam', state.adamSteps, 2) });
    search.rng = Rng.fromState(state.rng);
    search.nextEpoch = state.nextEpoch;
    search.inEpoch = state.inEpoch ?? null;
    search.batchSize = state.batchSize;
    search.decisions = state.decisions;
    search.records.push(...state.records);
    for (const type of CELL_TYPES) search.net.selection[type].splice(0, NUM_EDGES, ...state.decisions[type].selectedIdxs);
    return search;
  }

  release(): void {
    this.sgd.release();
    this.architect.adam.release();
    this.net.release();
  }
}

function decodeSearchCheckpoint(bytes: Uint8Array, source: string): CheckpointFile<SavedState> {
  const checkpoint = decodeCheckpoint<SavedState>(bytes, source);
  const { state } = checkpoint;
  if (state.format !== 'sgas-search-v1') throw new CheckpointError(`${source}: not a search checkpoint (format ${state.format})`);
  state.config = storedSearchConfig(state.config);
  return checkpoint;
}

function cellRecord(stats: EdgeStats, state: DecisionState, decided: CellEpochRecord['decided'], config: SearchConfig): CellEpochRecord {
  return {
    alphas: stats.softmax, importance: stats.importance, certainty: stats.certainty,
    stability: config.criterion === 2 ? stats.histInter : [], score: stats.score, decided,
    selectedIdxs: [...state.selectedIdxs], candidateFlags: [...state.candidateFlags],
  };
}
