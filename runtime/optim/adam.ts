// torch.optim.Adam: L2 weight decay added to the gradient (not AdamW), bias-corrected moments.
import { launch } from '../ops/launch.ts';
import type { Tensor } from '../tensor.ts';
import { Optimizer, type ParamState } from './optimizer.ts';

export interface AdamOptions {
  lr: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

export class Adam extends Optimizer {
  lr: number;
  readonly betas: [number, number];
  readonly eps: number;
  readonly weightDecay: number;

  constructor(params: Tensor[], options: AdamOptions) {
    super(params, 2);
    this.lr = options.lr;
    this.betas = options.betas ?? [0.9, 0.999];
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
  }

  protected update(param: Tensor, grad: Tensor, state: ParamState): void {
    const [m, v] = state.buffers as [Tensor, Tensor];
    const [b1, b2] = this.betas;
    const bc1 = 1 - b1 ** state.step;
    const bc2Sqrt = Math.sqrt(1 - b2 ** state.step);
    launch('optim/adam', [grad], [param, m, v], {
      u: [param.size, 0],
      f: [this.lr, 0, this.weightDecay, b1, b2, this.eps, bc1, bc2Sqrt],
      flops: 14 * param.size,
    }, [param.size]);
  }
}
