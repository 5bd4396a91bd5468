// torch.optim.SGD: momentum, dampening 0, weight decay added to the gradient, no Nesterov.
import { launch } from '../ops/launch.ts';
import type { Tensor } from '../tensor.ts';
import { Optimizer, type ParamState } from './optimizer.ts';

export interface SgdOptions {
  lr: number;
  momentum?: number;
  weightDecay?: number;
}

export class Sgd extends Optimizer {
  lr: number;
  readonly momentum: number;
  readonly weightDecay: number;

  constructor(params: Tensor[], options: SgdOptions) {
    super(params, 1);
    this.lr = options.lr;
    this.momentum = options.momentum ?? 0;
    this.weightDecay = options.weightDecay ?? 0;
  }

  /** The momentum buffer of a parameter, once it has stepped (DARTS' unrolled step reads it). */
  momentumBuffer(param: Tensor): Tensor | null {
    return this.state.get(param)?.buffers[0] ?? null;
  }

  protected update(param: Tensor, grad: Tensor, state: ParamState): void {
    const [buf] = state.buffers as [Tensor];
    launch('optim/sgd', [grad], [param, buf], {
      u: [param.size, state.step === 1 ? 1 : 0],
      f: [this.lr, this.momentum, this.weightDecay, 0, 0, 0, 0, 0],
      flops: 6 * param.size,
    }, [param.size]);
  }
}
