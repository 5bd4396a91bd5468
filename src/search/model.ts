// The search network of SGAS.md §1.2–1.4: MixedOp, Cell, Network, in the reference's order.
// Alphas live apart from the weights (one [8] parameter per edge and cell type, so a decided
// edge's alpha simply stops receiving gradients and Adam skips it, as in the reference).
import {
  add, concatChannels, conv2d, dropPath, recompute, Tape, globalAvgPool, linear, reshape, sliceRows, Tensor, softmax, weightedSum, type Backend,
} from '../../runtime/index.ts';
import { kaimingUniform } from '../../runtime/init.ts';
import { Module } from '../../runtime/module.ts';
import type { Rng } from '../../runtime/rng.ts';
import { BatchNorm2d, convWeight } from '../nn/layers.ts';
import { buildOperation, FactorizedReduce, ReluConvBn, replayingDrop, type DropPathSetting, type OpContext, type OpMemory, type Operation } from '../nn/operations.ts';
import { isReductionLayer, isStrided, NUM_EDGES, PRIMITIVES, STEPS, type CellType } from './space.ts';

/** Per edge: −1 undecided (weighted sum of all ops), 0 pruned (skipped), k the chosen op alone. */
export type EdgeSelection = number[];

export interface NetworkConfig {
  C: number;
  layers: number;
  classes: number;
  inputChannels: number;
  stemMultiplier: number;
}

export class MixedOp extends Module {
  readonly ops: Operation[];
  /** Pools and identity: the ops SearchConfig.paramFreeDrop drops. */
  private readonly parameterFree: boolean[];

  constructor(ctx: OpContext, C: number, stride: number) {
    super();
    this.ops = PRIMITIVES.map((name) => this.child(name, buildOperation(name, ctx, C, stride, true)));
    this.parameterFree = this.ops.map((op) => op.parameters().length === 0);
  }

  /**
   * selection −1 uses `weights` (a [1, 8] softmax row), with `drop` dropping samples of the
   * parameter-free ops' outputs; a decided edge runs its op alone, unweighted.
   */
  forward(x: Tensor, selection: number, weights: Tensor | null, drop: DropPathSetting | null = null): Tensor {
    if (selection > 0) return this.ops[selection]!.forward(x);
    // 'none' adds w·0: it is left out, and its weight gets the zero gradient it would have had.
    const others = sliceRows(reshape(weights!, [PRIMITIVES.length, 1]), 1, PRIMITIVES.length - 1);
    const made: Tensor[] = [];
    const branches = this.ops.slice(1).map((op, k) => {
      const y = op.forward(x);
      if (!op.isIdentity) made.push(y);
      if (!drop || !this.parameterFree[k + 1]) return y;
      const dropped = dropPath(y, drop.keep, drop.rng);
      made.push(dropped);
      return dropped;
    });
    const y = weightedSum(branches, others);
    // The sum keeps its branches only for the alphas' gradients; identity's branch is x itself.
    for (const t of made) Tape.discard(t);
    return y;
  }
}

export class Cell extends Module {
  readonly pre0: Operation;
  readonly pre1: Operation;
  readonly edges: MixedOp[] = [];

  constructor(ctx: OpContext, Cpp: number, Cp: number, readonly C: number, readonly reduction: boolean, reductionPrev: boolean) {
    super();
    this.pre0 = this.child('pre0', reductionPrev ? new FactorizedReduce(ctx, Cpp, C) : new ReluConvBn(ctx, Cpp, C));
    this.pre1 = this.child('pre1', new ReluConvBn(ctx, Cp, C));
    for (let e = 0; e < NUM_EDGES; e++) {
      this.edges.push(this.child(`edge${e}`, new MixedOp(ctx, C, isStrided(e, reduction) ? 2 : 1)));
    }
  }

  forward(s0: Tensor, s1: Tensor, selection: EdgeSelection, weights: (Tensor | null)[], drop: DropPathSetting | null = null): Tensor {
    const states = [this.pre0.forward(s0), this.pre1.forward(s1)];
    // Partial sums and edge outputs go once added; an identity edge's output is a state, which stays.
    const discard = (t: Tensor) => states.includes(t) || Tape.discard(t);
    let e = 0;
    for (let node = 0; node < STEPS; node++) {
      let sum: Tensor | null = null;
      for (let j = 0; j < states.length; j++, e++) {
        if (selection[e] === 0) continue;
        const y = this.edges[e]!.forward(states[j]!, selection[e]!, weights[e]!, drop);
        if (!sum) sum = y;
        else {
          const total = add(sum, y);
          discard(sum);
          discard(y);
          sum = total;
        }
      }
      if (!sum) throw new Error(`node ${node} of a ${this.reduction ? 'reduction' : 'normal'} cell has every incoming edge pruned`);
      states.push(sum);
    }
    const out = concatChannels(states.slice(2));
    // The cell is done with its states: those no backward reads (the last node's, say) go now.
    for (const t of new Set(states)) Tape.discard(t);
    return out;
  }
}

export class Network extends Module {
  readonly cells: Cell[] = [];
  readonly alphas: Record<CellType, Tensor[]>;
  /** The edge decisions of each cell type (SGAS's selected_idxs). */
  readonly selection: Record<CellType, EdgeSelection> = {
    normal: new Array(NUM_EDGES).fill(-1),
    reduce: new Array(NUM_EDGES).fill(-1),
  };
  private readonly stemConv: Tensor;
  private readonly stemBn: BatchNorm2d;
  private readonly classifierWeight: Tensor;
  private readonly classifierBias: Tensor;
  /**
   * Keep only each cell's inputs and output through the forward and compute its insides again in
   * the backward: about a third more work for a fraction of the memory (SearchConfig.recompute).
   */
  recomputeCells = false;
  /** What the ops keep for the backward (MemoryPlan.keepInnerFromKernel). */
  readonly memory: OpMemory = { keepInnerFromKernel: Infinity };
  /** Drop path on the parameter-free ops of undecided edges (SearchConfig.paramFreeDrop), set by the training steps. */
  paramFreeDrop: DropPathSetting | null = null;
  /** Pruned edges stay in the forward as mixed edges with frozen alphas (SearchConfig.keepPrunedEdges). */
  keepPrunedEdges = false;
  private readonly cellParameters = new Map<Cell, Tensor[]>();

  constructor(readonly backend: Backend, readonly config: NetworkConfig, rng: Rng) {
    super();
    const { C, layers, classes, inputChannels, stemMultiplier } = config;
    const ctx: OpContext = { backend, rng, affine: false, memory: this.memory };
    const stemC = stemMultiplier * C;
    const stem = this.child('stem', new StemParams());
    this.stemConv = stem.add('conv', convWeight(backend, rng, stemC, inputChannels, 3, 'stem.conv'));
    this.stemBn = stem.addChild('bn', new BatchNorm2d(backend, stemC, true));
    let [Cpp, Cp, Cc] = [stemC, stemC, C];
    let reductionPrev = false;
    for (let i = 0; i < layers; i++) {
      const reduction = isReductionLayer(i, layers);
      if (reduction) Cc *= 2;
      const cell = this.child(`cell${i}`, new Cell(ctx, Cpp, Cp, Cc, reduction, reductionPrev));
      this.cells.push(cell);
      this.cellParameters.set(cell, cell.parameters());
      reductionPrev = reduction;
      [Cpp, Cp] = [Cp, 4 * Cc];
    }
    const head = this.child('classifier', new StemParams());
    this.classifierWeight = head.add('weight', Tensor.parameter(backend, kaimingUniform(rng, classes * Cp, Cp), [classes, Cp], 'classifier.weight'));
    this.classifierBias = head.add('bias', Tensor.parameter(backend, kaimingUniform(rng, classes, Cp), [classes], 'classifier.bias'));
    const initAlphas = (type: CellType) =>
      Array.from({ length: NUM_EDGES }, (_, e) =>
        Tensor.parameter(backend, Float32Array.from({ length: PRIMITIVES.length }, () => 1e-3 * rng.normal()), [1, PRIMITIVES.length], `alphas_${type}.${e}`));
    this.alphas = { normal: initAlphas('normal'), reduce: initAlphas('reduce') };
  }

  /** All alphas, normal then reduce (kept out of parameters(): the weight optimizer never sees them). */
  alphaParameters(): Tensor[] {
    return [...this.alphas.normal, ...this.alphas.reduce];
  }

  /** What each edge computes: its selection, except that a kept pruned edge (0) runs mixed (−1). */
  private running(type: CellType): EdgeSelection {
    return this.keepPrunedEdges ? this.selection[type].map((s) => (s === 0 ? -1 : s)) : this.selection[type];
  }

  /** Softmax weights of each mixed edge, computed once per forward and shared by all cells of a type. */
  private edgeWeights(type: CellType, running: EdgeSelection): (Tensor | null)[] {
    return this.alphas[type].map((alpha, e) => (running[e] === -1 ? softmax(alpha) : null));
  }

  forward(x: Tensor): Tensor {
    const running = { normal: this.running('normal'), reduce: this.running('reduce') };
    const weights = { normal: this.edgeWeights('normal', running.normal), reduce: this.edgeWeights('reduce', running.reduce) };
    const stem = this.stemBn.forward(conv2d(x, this.stemConv, { pad: 1 }));
    let [s0, s1] = [stem, stem];
    for (const cell of this.cells) {
      const type: CellType = cell.reduction ? 'reduce' : 'normal';
      [s0, s1] = [s1, this.cellForward(cell, s0, s1, running[type], weights[type])];
    }
    const pooled = globalAvgPool(s1);
    return linear(pooled, this.classifierWeight, this.classifierBias);
  }

  private cellForward(cell: Cell, s0: Tensor, s1: Tensor, selection: EdgeSelection, weights: (Tensor | null)[]): Tensor {
    // Without gradients nothing needs a cell's insides after it returns: they go at once.
    const drop = this.paramFreeDrop;
    if (!this.recomputeCells && Tape.recording) return cell.forward(s0, s1, selection, weights, drop);
    const used = weights.filter((w): w is Tensor => w !== null);
    const nextDrop = replayingDrop(drop);
    return recompute([s0, s1, ...used], this.cellParameters.get(cell)!, ([r0, r1, ...rest]) => {
      let next = 0;
      return cell.forward(r0!, r1!, selection, weights.map((w) => (w ? rest[next++]! : null)), nextDrop());
    });
  }

  /** Freezes or thaws gradient tracking of weights and alphas (each step needs only one kind). */
  setRequiresGrad(weights: boolean, alphas: boolean): void {
    for (const p of this.parameters()) p.requiresGrad = weights;
    for (const type of ['normal', 'reduce'] as const) {
      this.alphas[type].forEach((a, e) => (a.requiresGrad = alphas && this.selection[type][e] === -1));
    }
  }

  override release(): void {
    super.release();
    for (const a of this.alphaParameters()) {
      a.grad?.release();
      a.release();
    }
  }
}

/** A named holder for loose parameters (stem conv, classifier), so names read "stem.conv". */
class StemParams extends Module {
  add(name: string, t: Tensor): Tensor {
    return this.param(name, t);
  }
  addChild<M extends Module>(name: string, m: M): M {
    return this.child(name, m);
  }
}
