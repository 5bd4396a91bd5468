// The evaluation network of SGAS.md §3 (DARTS/SGAS cnn/model.py): Cell, AuxiliaryHead, Network, in
// the reference's order. Cells are built from a genotype with affine BatchNorm everywhere and no BN
// after pools; drop path and the auxiliary head act only in training mode.
import {
  add, avgPool2d, concatChannels, conv2d, dropPath, globalAvgPool, linear, recompute, relu, reshape, Tape, Tensor,
  type Backend, type PoolWindow,
} from '../../runtime/index.ts';
import { kaimingUniform } from '../../runtime/init.ts';
import { Module } from '../../runtime/module.ts';
import type { OnnxGraph } from '../../runtime/onnx/graph.ts';
import type { Rng } from '../../runtime/rng.ts';
import { BatchNorm2d, convWeight } from '../nn/layers.ts';
import { buildOperation, FactorizedReduce, ReluConvBn, replayingDrop, type DropPathSetting, type OpContext, type OpMemory, type Operation } from '../nn/operations.ts';
import type { Gene, Genotype } from '../search/genotype.ts';
import { isReductionLayer } from '../search/space.ts';

export interface EvalNetworkConfig {
  /** Initial channels C: the stem makes 3C, cells C (doubled at each reduction). */
  C: number;
  layers: number;
  classes: number;
  inputChannels: number;
  auxiliary: boolean;
  /** The auxiliary head's widths scaled with C (auxiliaryWidths); false: DARTS's fixed 128 and 768. */
  auxiliaryScaled: boolean;
}

/** As in NetworkCIFAR; the search network's stem multiplier is a setting, here it is fixed. */
const STEM_MULTIPLIER = 3;
/** AuxiliaryHeadCIFAR's widths, sized for the reference network's C. */
const AUX_HIDDEN = 128;
const AUX_FEATURES = 768;
const AUX_REFERENCE_C = 36;

/**
 * The auxiliary head's conv widths at initial channels C. DARTS fixed them for C=36; kept at C=8
 * they make a head six times the network it helps, so scaled they keep the reference's ratios
 * (the paper's C=36 gets its own 128 and 768). Unscaled: checkpoints from before the scaling.
 */
export function auxiliaryWidths(C: number, scaled: boolean): { hidden: number; features: number } {
  if (!scaled) return { hidden: AUX_HIDDEN, features: AUX_FEATURES };
  const scale = (width: number) => Math.max(1, Math.round((width * C) / AUX_REFERENCE_C));
  return { hidden: scale(AUX_HIDDEN), features: scale(AUX_FEATURES) };
}

/** Linear layer with nn.Linear's initialisation (weight and bias U(±1/√in)). */
export class Linear extends Module {
  private readonly weight: Tensor;
  private readonly bias: Tensor;

  constructor(backend: Backend, rng: Rng, inFeatures: number, outFeatures: number) {
    super();
    this.weight = this.param('weight', Tensor.parameter(backend, kaimingUniform(rng, outFeatures * inFeatures, inFeatures), [outFeatures, inFeatures], 'weight'));
    this.bias = this.param('bias', Tensor.parameter(backend, kaimingUniform(rng, outFeatures, inFeatures), [outFeatures], 'bias'));
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }

  toOnnx(g: OnnxGraph, x: string): string {
    return g.linear(x, this.weight, this.bias);
  }
}

/** A bias-free convolution followed by an affine BatchNorm (stem, auxiliary head). */
class ConvBn extends Module {
  private readonly weight: Tensor;
  private readonly bn: BatchNorm2d;

  constructor(backend: Backend, rng: Rng, cin: number, cout: number, private readonly k: number, private readonly pad: number) {
    super();
    this.weight = this.param('conv', convWeight(backend, rng, cout, cin, k, 'conv'));
    this.bn = this.child('bn', new BatchNorm2d(backend, cout, true));
  }

  forward(x: Tensor): Tensor {
    const [N, C, H, W] = x.shape as [number, number, number, number];
    const wholeMap = this.pad === 0 && H === this.k && W === this.k;
    return this.bn.forward(wholeMap ? wholeMapConv(x, this.weight, N, C * H * W) : conv2d(x, this.weight, { pad: this.pad }));
  }

  toOnnx(g: OnnxGraph, x: string): string {
    return this.bn.toOnnx(g, g.conv2d(x, this.weight, { pad: this.pad }));
  }
}

/**
 * A k×k convolution without padding over a k×k map (the auxiliary head's 2×2 conv) is a matrix
 * product of the flattened map and the flattened weight, whose [out, in, k, k] layout already
 * matches; the GEMM runs about ten times faster than the dense convolution kernel here.
 */
function wholeMapConv(x: Tensor, weight: Tensor, N: number, features: number): Tensor {
  const out = weight.shape[0]!;
  return reshape(linear(reshape(x, [N, features]), reshape(weight, [out, features])), [N, out, 1, 1]);
}

export class Cell extends Module {
  readonly pre0: Operation;
  readonly pre1: Operation;
  readonly ops: Operation[];
  /** The state each op reads: 0 = s0, 1 = s1, 2 + i = node i. */
  private readonly inputs: number[];

  constructor(ctx: OpContext, gene: Gene, private readonly concat: readonly number[], Cpp: number, Cp: number, readonly C: number, readonly reduction: boolean, reductionPrev: boolean) {
    super();
    this.pre0 = this.child('pre0', reductionPrev ? new FactorizedReduce(ctx, Cpp, C) : new ReluConvBn(ctx, Cpp, C));
    this.pre1 = this.child('pre1', new ReluConvBn(ctx, Cp, C));
    this.inputs = gene.map(([, input]) => input);
    this.ops = gene.map(([name, input], k) =>
      this.child(`op${k}`, buildOperation(name, ctx, C, reduction && input < 2 ? 2 : 1, false)));
  }

  get outChannels(): number {
    return this.concat.length * this.C;
  }

  /** Node i = op(2i)(state[idx(2i)]) + op(2i+1)(state[idx(2i+1)]); the output concatenates `concat`. */
  forward(s0: Tensor, s1: Tensor, drop: DropPathSetting | null): Tensor {
    const states = [this.pre0.forward(s0), this.pre1.forward(s1)];
    const branch = (k: number) => {
      const op = this.ops[k]!;
      const y = op.forward(states[this.inputs[k]!]!);
      return drop && !op.isIdentity ? dropPath(y, drop.keep, drop.rng) : y;
    };
    for (let k = 0; k < this.ops.length; k += 2) states.push(add(branch(k), branch(k + 1)));
    return concatChannels(this.concat.map((i) => states[i]!));
  }

  /** The forward in evaluation mode (no drop path) as ONNX nodes. */
  toOnnx(g: OnnxGraph, s0: string, s1: string): string {
    const states = [this.pre0.toOnnx(g, s0), this.pre1.toOnnx(g, s1)];
    const branch = (k: number) => this.ops[k]!.toOnnx(g, states[this.inputs[k]!]!);
    for (let k = 0; k < this.ops.length; k += 2) states.push(g.add(branch(k), branch(k + 1)));
    return g.concatChannels(this.concat.map((i) => states[i]!));
  }
}

/**
 * The auxiliary head's average pool for a side×side map: the reference's 5×5 window with stride 3
 * where that leaves 2×2 (sides 8–10, CIFAR's 8×8), otherwise a ⌈side/2⌉ window with stride ⌊side/2⌋,
 * which leaves 2×2 for every side ≥ 2 (7×7 Fashion-MNIST maps: 4×4 windows, stride 3). The 2×2
 * convolution after it then sees exactly the 2×2 map it was designed for.
 */
export function auxiliaryPool(side: number): PoolWindow {
  if (!Number.isInteger(side) || side < 2) {
    throw new Error(`the auxiliary head needs a feature map of at least 2×2, got ${side}×${side}; use larger images or --no-auxiliary`);
  }
  if (Math.floor((side - 5) / 3) + 1 === 2) return { kernel: 5, stride: 3, pad: 0 };
  return { kernel: Math.ceil(side / 2), stride: Math.floor(side / 2), pad: 0 };
}

/** ReLU → AvgPool → conv1×1 (→hidden) → BN → ReLU → conv2×2 (→features) → BN → ReLU → Linear (AuxiliaryHeadCIFAR). */
export class AuxiliaryHead extends Module {
  private readonly reduce: ConvBn;
  private readonly expand: ConvBn;
  private readonly classifier: Linear;

  constructor(backend: Backend, rng: Rng, C: number, classes: number, private readonly widths: { hidden: number; features: number }) {
    super();
    this.reduce = this.child('reduce', new ConvBn(backend, rng, C, widths.hidden, 1, 0));
    this.expand = this.child('expand', new ConvBn(backend, rng, widths.hidden, widths.features, 2, 0));
    this.classifier = this.child('classifier', new Linear(backend, rng, widths.features, classes));
  }

  forward(x: Tensor): Tensor {
    const [N, , H, W] = x.shape as [number, number, number, number];
    if (H !== W) throw new Error(`the auxiliary head expects square feature maps, got ${H}×${W}`);
    const pooled = avgPool2d(relu(x), auxiliaryPool(H));
    const features = relu(this.expand.forward(relu(this.reduce.forward(pooled))));
    return this.classifier.forward(reshape(features, [N, this.widths.features]));
  }
}

export interface EvalOutput {
  logits: Tensor;
  /** The auxiliary head's logits (training mode with the head only). */
  auxLogits: Tensor | null;
}

export class EvalNetwork extends Module {
  readonly cells: Cell[] = [];
  readonly auxiliary: AuxiliaryHead | null;
  /** Index of the cell the auxiliary head reads (⌊2L/3⌋, the second reduction cell). */
  readonly auxiliaryCell: number;
  private readonly stem: ConvBn;
  private readonly classifier: Linear;
  /** Keep only each cell's inputs and output through the forward (TrainConfig.recompute). */
  recomputeCells = false;
  /** What the ops keep for the backward (MemoryPlan.keepInnerFromKernel). */
  readonly memory: OpMemory = { keepInnerFromKernel: Infinity };
  private readonly cellParameters = new Map<Cell, Tensor[]>();

  constructor(readonly backend: Backend, readonly config: EvalNetworkConfig, readonly genotype: Genotype, rng: Rng) {
    super();
    const { C, layers, classes, inputChannels } = config;
    const ctx: OpContext = { backend, rng, affine: true, memory: this.memory };
    const stemC = STEM_MULTIPLIER * C;
    this.stem = this.child('stem', new ConvBn(backend, rng, inputChannels, stemC, 3, 1));
    this.auxiliaryCell = Math.floor((2 * layers) / 3);
    let [Cpp, Cp, Cc] = [stemC, stemC, C];
    let reductionPrev = false;
    let auxiliaryChannels = 0;
    for (let i = 0; i < layers; i++) {
      const reduction = isReductionLayer(i, layers);
      if (reduction) Cc *= 2;
      const [gene, concat] = reduction ? [genotype.reduce, genotype.reduceConcat] : [genotype.normal, genotype.normalConcat];
      const cell = this.child(`cell${i}`, new Cell(ctx, gene, concat, Cpp, Cp, Cc, reduction, reductionPrev));
      this.cells.push(cell);
      this.cellParameters.set(cell, cell.parameters());
      reductionPrev = reduction;
      [Cpp, Cp] = [Cp, cell.outChannels];
      if (i === this.auxiliaryCell) auxiliaryChannels = Cp;
    }
    this.auxiliary = config.auxiliary
      ? this.child('auxiliary', new AuxiliaryHead(backend, rng, auxiliaryChannels, classes, auxiliaryWidths(C, config.auxiliaryScaled)))
      : null;
    this.classifier = this.child('classifier', new Linear(backend, rng, Cp, classes));
  }

  /** `drop` applies in training mode only, as the reference's `self.training and drop_prob > 0`. */
  forward(x: Tensor, drop: DropPathSetting | null = null): EvalOutput {
    const cellDrop = this.training && drop && drop.keep < 1 ? drop : null;
    const stem = this.stem.forward(x);
    let [s0, s1] = [stem, stem];
    let auxLogits: Tensor | null = null;
    this.cells.forEach((cell, i) => {
      [s0, s1] = [s1, this.cellForward(cell, s0, s1, cellDrop)];
      if (i === this.auxiliaryCell && this.auxiliary && this.training) auxLogits = this.auxiliary.forward(s1);
    });
    return { logits: this.classifier.forward(globalAvgPool(s1)), auxLogits };
  }

  /** The forward in evaluation mode (no auxiliary head, no drop path) as ONNX nodes: images in, logits out. */
  toOnnx(g: OnnxGraph, x: string): string {
    const stem = this.stem.toOnnx(g, x);
    let [s0, s1] = [stem, stem];
    for (const cell of this.cells) [s0, s1] = [s1, cell.toOnnx(g, s0, s1)];
    return this.classifier.toOnnx(g, g.globalAvgPool(s1));
  }

  private cellForward(cell: Cell, s0: Tensor, s1: Tensor, drop: DropPathSetting | null): Tensor {
    // Without gradients nothing needs a cell's insides after it returns: they go at once.
    if (!this.recomputeCells && Tape.recording) return cell.forward(s0, s1, drop);
    const nextDrop = replayingDrop(drop);
    return recompute([s0, s1], this.cellParameters.get(cell)!, ([r0, r1]) => cell.forward(r0!, r1!, nextDrop()));
  }

  /**
   * Parameter counts from shapes: the network without the auxiliary head (the figure papers report,
   * the reference's count_parameters_in_MB skips names containing "auxiliary"), and the head alone.
   */
  parameterCounts(): { network: number; auxiliary: number } {
    const count = (m: Module | null) => (m ? m.parameters().reduce((s, t) => s + t.size, 0) : 0);
    const auxiliary = count(this.auxiliary);
    return { network: count(this) - auxiliary, auxiliary };
  }
}
