// A symbolic ONNX graph that modules write their forward into, one emitter per runtime op taking
// the op's own options (ConvOptions, PoolWindow, batch-norm statistics), so the exported graph
// computes what the op computes. Modules walk themselves as their forward does (Module trees,
// not kernels: how a backend runs an op is its own business); weights are read once up front.
import type { Module } from '../module.ts';
import type { ConvOptions } from '../ops/conv2d.ts';
import type { PoolWindow } from '../ops/pool.ts';
import type { Tensor } from '../tensor.ts';

/** INT, INTS, STRING, or FLOAT when wrapped (1e-5 and 1 alike would otherwise read as numbers). */
export type OnnxAttribute = number | number[] | string | { float: number };

export interface OnnxNode {
  op: string;
  name: string;
  inputs: string[];
  output: string;
  attributes: Record<string, OnnxAttribute>;
}

export interface OnnxInitializer {
  name: string;
  dims: number[];
  /** FLOAT or INT64 data. */
  values: Float32Array | BigInt64Array;
}

/** A BatchNorm in evaluation mode: y = (x − mean) / √(var + eps) · gamma + beta. */
export interface OnnxBatchNorm {
  gamma?: Tensor;
  beta?: Tensor;
  mean: Tensor;
  variance: Tensor;
  eps: number;
}

export class OnnxGraph {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxInitializer[] = [];
  private readonly named = new Map<Tensor, string>();
  private readonly counts = new Map<string, number>();

  private constructor(private readonly values: Map<Tensor, { name: string; values: Float32Array }>) {}

  /** A graph for `root`'s tensors, each named as in checkpoints ("cell0.op1.dw1"). */
  static async of(root: Module): Promise<OnnxGraph> {
    const values = new Map<Tensor, { name: string; values: Float32Array }>();
    for (const [name, t] of [...root.namedParameters(), ...root.namedBuffers()]) values.set(t, { name, values: await t.read() });
    return new OnnxGraph(values);
  }

  /** The initializer holding a module's tensor, added on first use. */
  weight(t: Tensor, dims: readonly number[] = t.shape): string {
    const known = this.named.get(t);
    if (known) return known;
    const entry = this.values.get(t);
    if (!entry) throw new Error('onnx export: a tensor outside the exported module tree');
    this.initializers.push({ name: entry.name, dims: [...dims], values: entry.values });
    this.named.set(t, entry.name);
    return entry.name;
  }

  constant(hint: string, values: Float32Array | BigInt64Array, dims: readonly number[]): string {
    const name = this.unique(hint);
    this.initializers.push({ name, dims: [...dims], values });
    return name;
  }

  node(op: string, inputs: string[], attributes: Record<string, OnnxAttribute> = {}): string {
    const name = this.unique(op);
    this.nodes.push({ op, name, inputs, output: name, attributes });
    return name;
  }

  private unique(hint: string): string {
    const n = this.counts.get(hint) ?? 0;
    this.counts.set(hint, n + 1);
    return `${hint}_${n}`;
  }

  relu(x: string): string {
    return this.node('Relu', [x]);
  }

  add(a: string, b: string): string {
    return this.node('Add', [a, b]);
  }

  concatChannels(xs: string[]): string {
    return this.node('Concat', xs, { axis: 1 });
  }

  /** conv2d: the crop becomes a Slice of the top rows and left columns. */
  conv2d(x: string, w: Tensor, { stride = 1, pad = 0, dilation = 1, groups = 1, crop: [top, left] = [0, 0] }: ConvOptions = {}): string {
    const input = top || left
      ? this.node('Slice', [x, this.int64('starts', [top, left]), this.int64('ends', [2 ** 62, 2 ** 62]), this.int64('axes', [2, 3])])
      : x;
    const [, , kh, kw] = w.shape as [number, number, number, number];
    return this.node('Conv', [input, this.weight(w)], {
      kernel_shape: [kh, kw], strides: [stride, stride], pads: [pad, pad, pad, pad], dilations: [dilation, dilation], group: groups,
    });
  }

  batchNorm(x: string, bn: OnnxBatchNorm): string {
    const C = bn.mean.size;
    const scale = bn.gamma ? this.weight(bn.gamma) : this.constant('ones', new Float32Array(C).fill(1), [C]);
    const bias = bn.beta ? this.weight(bn.beta) : this.constant('zeros', new Float32Array(C), [C]);
    return this.node('BatchNormalization', [x, scale, bias, this.weight(bn.mean), this.weight(bn.variance)], { epsilon: { float: bn.eps } });
  }

  /** Padding never wins a max and never counts in an average (count_include_pad=False), as in the runtime's pools. */
  pool2d(kind: 'max' | 'avg', x: string, { kernel, stride = kernel, pad = 0 }: PoolWindow): string {
    const window = { kernel_shape: [kernel, kernel], strides: [stride, stride], pads: [pad, pad, pad, pad] };
    return kind === 'max' ? this.node('MaxPool', [x], window) : this.node('AveragePool', [x], { ...window, count_include_pad: 0 });
  }

  /** [N, C, H, W] → [N, C]. */
  globalAvgPool(x: string): string {
    return this.node('Flatten', [this.node('GlobalAveragePool', [x])], { axis: 1 });
  }

  /** x · weightᵀ + bias, weight [out, in]. */
  linear(x: string, weight: Tensor, bias: Tensor): string {
    return this.node('Gemm', [x, this.weight(weight), this.weight(bias)], { transB: 1 });
  }

  private int64(hint: string, values: number[]): string {
    return this.constant(hint, BigInt64Array.from(values, BigInt), [values.length]);
  }
}
