// The DARTS candidate operations (SGAS.md §1.1) and the cell preprocessing blocks, as modules.
// `affine` is false in the search network and true in the evaluation network; the search
// network also follows every pool with an affine-free BatchNorm (`poolBn`). Each block discards
// what it made once it is done with it (Tape.discard): what no backward reads goes at once.
import { avgPool2d, concatChannels, conv2d, conv2dPair, maxPool2d, relu, Tape, zero, type Backend, type Tensor } from '../../runtime/index.ts';
import { Module } from '../../runtime/module.ts';
import type { OnnxGraph } from '../../runtime/onnx/graph.ts';
import { Rng } from '../../runtime/rng.ts';
import type { OpName } from '../search/space.ts';
import { BatchNorm2d, convWeight } from './layers.ts';

export interface OpContext {
  backend: Backend;
  rng: Rng;
  affine: boolean;
  /** The network's memory choices, which its ops read as they run; without it they keep the least. */
  memory?: OpMemory;
}

/** Drop path during a training forward: an op's output keeps each sample with probability `keep`. */
export interface DropPathSetting {
  keep: number;
  rng: Rng;
}

/**
 * For a forward run twice (a recomputed cell): the first run draws from `drop`'s generator, each
 * later run replays the same draws, so the backward sees the samples the forward dropped.
 */
export function replayingDrop(drop: DropPathSetting | null): () => DropPathSetting | null {
  if (!drop) return () => null;
  const start = drop.rng.state();
  let first = true;
  return () => {
    if (!first) return { keep: drop.keep, rng: Rng.fromState(start) };
    first = false;
    return drop;
  };
}

/** Memory traded for work, set from a network's memory plan (src/train/memory.ts). */
export interface OpMemory {
  /**
   * SepConv's and DilConv's depthwise outputs are kept for the backward, not computed again, where
   * the depthwise kernel is at least this wide (Infinity: none). A wider kernel costs more per byte
   * kept to compute again: 25 multiply-adds a value at 5×5 against 9 at 3×3.
   */
  keepInnerFromKernel: number;
}

// The ops that begin with ReLU hand it to their first convolution (conv2d's reluInput): relu(x) is
// never stored, and the convolution keeps x, which its maker keeps anyway.
export abstract class Operation extends Module {
  abstract forward(x: Tensor): Tensor;
  /** The forward in evaluation mode as ONNX nodes reading `x`; returns the output's name. */
  abstract toOnnx(g: OnnxGraph, x: string): string;
  /** Identity passes its input through (drop path skips it). */
  get isIdentity(): boolean {
    return false;
  }
}

/** ReLU → depthwise k×k (stride, dilation) → pointwise → BN: one half of SepConv, or DilConv whole. */
class ReluDwPwBn extends Operation {
  private readonly bn: BatchNorm2d;
  private readonly memory?: OpMemory;

  constructor(
    ctx: OpContext,
    C: number,
    private readonly k: number,
    private readonly stride: number,
    private readonly dilation: number,
    private readonly dw: Tensor,
    private readonly pw: Tensor,
    bnName: string,
  ) {
    super();
    this.bn = this.child(bnName, new BatchNorm2d(ctx.backend, C, ctx.affine));
    this.memory = ctx.memory;
  }

  forward(x: Tensor): Tensor {
    const pointwise = conv2dPair(x, this.dw, { ...this.depthwise, reluInput: true }, this.pw, {}, { keepInner: this.k >= (this.memory?.keepInnerFromKernel ?? Infinity) });
    const y = this.bn.forward(pointwise);
    Tape.discard(pointwise);
    return y;
  }

  toOnnx(g: OnnxGraph, x: string): string {
    return this.bn.toOnnx(g, g.conv2d(g.conv2d(g.relu(x), this.dw, this.depthwise), this.pw));
  }

  private get depthwise() {
    return { stride: this.stride, pad: (this.dilation * (this.k - 1)) / 2, dilation: this.dilation, groups: this.dw.shape[0] };
  }
}

export class SepConv extends Operation {
  private readonly first: ReluDwPwBn;
  private readonly second: ReluDwPwBn;

  constructor(ctx: OpContext, C: number, k: number, stride: number) {
    super();
    const w = (name: string, kk: number, inPer: number) => this.param(name, convWeight(ctx.backend, ctx.rng, C, inPer, kk, name));
    const dw1 = w('dw1', k, 1);
    const pw1 = w('pw1', 1, C);
    const dw2 = w('dw2', k, 1);
    const pw2 = w('pw2', 1, C);
    this.first = this.child('half1', new ReluDwPwBn(ctx, C, k, stride, 1, dw1, pw1, 'bn'));
    this.second = this.child('half2', new ReluDwPwBn(ctx, C, k, 1, 1, dw2, pw2, 'bn'));
  }

  forward(x: Tensor): Tensor {
    const half = this.first.forward(x);
    const y = this.second.forward(half);
    Tape.discard(half);
    return y;
  }

  toOnnx(g: OnnxGraph, x: string): string {
    return this.second.toOnnx(g, this.first.toOnnx(g, x));
  }
}

export class DilConv extends Operation {
  private readonly body: ReluDwPwBn;

  constructor(ctx: OpContext, C: number, k: number, stride: number) {
    super();
    const dw = this.param('dw', convWeight(ctx.backend, ctx.rng, C, 1, k, 'dw'));
    const pw = this.param('pw', convWeight(ctx.backend, ctx.rng, C, C, 1, 'pw'));
    this.body = this.child('body', new ReluDwPwBn(ctx, C, k, stride, 2, dw, pw, 'bn'));
  }

  forward(x: Tensor): Tensor {
    return this.body.forward(x);
  }

  toOnnx(g: OnnxGraph, x: string): string {
    return this.body.toOnnx(g, x);
  }
}

/** ReLU → 1×1 conv → BN (cell preprocessing). */
export class ReluConvBn extends Operation {
  private readonly weight: Tensor;
  private readonly bn: BatchNorm2d;

  constructor(ctx: OpContext, cin: number, cout: number) {
    super();
    this.weight = this.param('conv', convWeight(ctx.backend, ctx.rng, cout, cin, 1, 'conv'));
    this.bn = this.child('bn', new BatchNorm2d(ctx.backend, cout, ctx.affine));
  }

  forward(x: Tensor): Tensor {
    const r = relu(x);
    const conv = conv2d(r, this.weight);
    const y = this.bn.forward(conv);
    Tape.discard(r);
    Tape.discard(conv);
    return y;
  }

  toOnnx(g: OnnxGraph, x: string): string {
    return this.bn.toOnnx(g, g.conv2d(g.relu(x), this.weight));
  }
}

/** Halves H and W with two stride-2 1×1 convs, the second on the input shifted by one pixel. */
export class FactorizedReduce extends Operation {
  private readonly conv1: Tensor;
  private readonly conv2: Tensor;
  private readonly bn: BatchNorm2d;

  constructor(ctx: OpContext, cin: number, cout: number) {
    super();
    if (cout % 2) throw new Error(`FactorizedReduce needs an even output channel count, got ${cout}`);
    this.conv1 = this.param('conv1', convWeight(ctx.backend, ctx.rng, cout / 2, cin, 1, 'conv1'));
    this.conv2 = this.param('conv2', convWeight(ctx.backend, ctx.rng, cout / 2, cin, 1, 'conv2'));
    this.bn = this.child('bn', new BatchNorm2d(ctx.backend, cout, ctx.affine));
  }

  forward(x: Tensor): Tensor {
    const [, , H, W] = x.shape as [number, number, number, number];
    if (H % 2 || W % 2) throw new Error(`FactorizedReduce needs even spatial sizes (the reference requires them too), got ${H}×${W}`);
    const a = conv2d(x, this.conv1, { ...HALVES[0], reluInput: true });
    const b = conv2d(x, this.conv2, { ...HALVES[1], reluInput: true });
    const both = concatChannels([a, b]);
    const y = this.bn.forward(both);
    for (const t of [a, b, both]) Tape.discard(t);
    return y;
  }

  toOnnx(g: OnnxGraph, x: string): string {
    const r = g.relu(x);
    return this.bn.toOnnx(g, g.concatChannels([g.conv2d(r, this.conv1, HALVES[0]), g.conv2d(r, this.conv2, HALVES[1])]));
  }
}

/** FactorizedReduce's two convolutions: the second one sees the input shifted by one pixel. */
const HALVES = [{ stride: 2 }, { stride: 2, crop: [1, 1] as const }] as const;

class Pool extends Operation {
  private readonly bn?: BatchNorm2d;

  constructor(ctx: OpContext, C: number, private readonly kind: 'max' | 'avg', private readonly stride: number, withBn: boolean) {
    super();
    if (withBn) this.bn = this.child('bn', new BatchNorm2d(ctx.backend, C, false));
  }

  forward(x: Tensor): Tensor {
    const y = this.kind === 'max' ? maxPool2d(x, this.window) : avgPool2d(x, this.window);
    if (!this.bn) return y;
    const out = this.bn.forward(y);
    Tape.discard(y);
    return out;
  }

  toOnnx(g: OnnxGraph, x: string): string {
    const y = g.pool2d(this.kind, x, this.window);
    return this.bn ? this.bn.toOnnx(g, y) : y;
  }

  private get window() {
    return { kernel: 3, stride: this.stride, pad: 1 };
  }
}

class Identity extends Operation {
  forward(x: Tensor): Tensor {
    return x;
  }
  toOnnx(_g: OnnxGraph, x: string): string {
    return x;
  }
  override get isIdentity(): boolean {
    return true;
  }
}

class Zero extends Operation {
  constructor(private readonly stride: number) {
    super();
  }
  forward(x: Tensor): Tensor {
    return zero(x, this.stride);
  }
  toOnnx(): string {
    throw new Error("the 'none' op only exists in the search network; a genotype's network has none to export");
  }
}

/** Builds a candidate operation by name, as the OPS table of the reference does. */
export function buildOperation(name: OpName, ctx: OpContext, C: number, stride: number, poolBn: boolean): Operation {
  switch (name) {
    case 'none': return new Zero(stride);
    case 'max_pool_3x3': return new Pool(ctx, C, 'max', stride, poolBn);
    case 'avg_pool_3x3': return new Pool(ctx, C, 'avg', stride, poolBn);
    case 'skip_connect': return stride === 1 ? new Identity() : new FactorizedReduce(ctx, C, C);
    case 'sep_conv_3x3': return new SepConv(ctx, C, 3, stride);
    case 'sep_conv_5x5': return new SepConv(ctx, C, 5, stride);
    case 'dil_conv_3x3': return new DilConv(ctx, C, 3, stride);
    case 'dil_conv_5x5': return new DilConv(ctx, C, 5, stride);
  }
}
