// Building blocks shared by the search network and the evaluation network: conv weights with
// PyTorch's default initialisation, and BatchNorm with running statistics.
import { batchNorm, runningStats, Tape, Tensor, type Backend, type RunningStats } from '../../runtime/index.ts';
import { kaimingUniform } from '../../runtime/init.ts';
import { Module } from '../../runtime/module.ts';
import type { OnnxGraph } from '../../runtime/onnx/graph.ts';
import type { Rng } from '../../runtime/rng.ts';

/** A bias-free conv weight [out, inPerGroup, k, k], kaiming-uniform (a = √5) like nn.Conv2d. */
export function convWeight(backend: Backend, rng: Rng, out: number, inPerGroup: number, k: number, name: string): Tensor {
  const fanIn = inPerGroup * k * k;
  return Tensor.parameter(backend, kaimingUniform(rng, out * fanIn, fanIn), [out, inPerGroup, k, k], name);
}

export class BatchNorm2d extends Module {
  readonly gamma?: Tensor;
  readonly beta?: Tensor;
  readonly running: RunningStats;
  readonly eps = 1e-5;

  constructor(backend: Backend, channels: number, affine: boolean) {
    super();
    if (affine) {
      this.gamma = this.param('gamma', Tensor.parameter(backend, new Float32Array(channels).fill(1), [channels], 'gamma'));
      this.beta = this.param('beta', Tensor.parameter(backend, new Float32Array(channels), [channels], 'beta'));
    }
    this.running = Tape.outside(() => runningStats(backend, channels));
    this.buffer('running_mean', this.running.mean);
    this.buffer('running_var', this.running.variance);
  }

  forward(x: Tensor): Tensor {
    return batchNorm(x, { training: this.training, gamma: this.gamma, beta: this.beta, running: this.running, eps: this.eps });
  }

  /** Evaluation mode: the running statistics. */
  toOnnx(g: OnnxGraph, x: string): string {
    return g.batchNorm(x, { gamma: this.gamma, beta: this.beta, mean: this.running.mean, variance: this.running.variance, eps: this.eps });
  }
}
